// Writes each jest run's totals to test-results/<project>.json so that CI can print one
// "jest: N passed, N failed" line over every project (`nx run-many -t test` runs one jest per project).
const { mkdirSync, writeFileSync } = require('node:fs');
const { join, relative } = require('node:path');

const fileSeconds = ({ perfStats }) => Math.round((perfStats.end - perfStats.start) / 100) / 10;

class SummaryReporter {
  constructor(globalConfig) {
    this.globalConfig = globalConfig;
  }

  onRunComplete(_contexts, results) {
    const dir = join(__dirname, '..', '..', 'test-results');
    mkdirSync(dir, { recursive: true });
    const name = require(join(this.globalConfig.rootDir, 'package.json')).nx?.name ?? 'root';
    const { numPassedTests, numFailedTests, numPendingTests, numTotalTestSuites, numFailedTestSuites } = results;
    writeFileSync(
      join(dir, `${name}.json`),
      JSON.stringify({
        numPassedTests,
        numFailedTests,
        numPendingTests,
        numTotalTestSuites,
        numFailedTestSuites,
        // Seconds per test file, slowest first: where the suite's time goes.
        seconds: Object.fromEntries(
          results.testResults
            .map((file) => [relative(this.globalConfig.rootDir, file.testFilePath), fileSeconds(file)])
            .sort((a, b) => b[1] - a[1]),
        ),
      }),
    );
  }
}

module.exports = SummaryReporter;
