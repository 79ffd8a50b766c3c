import { join } from 'node:path';
import { buildSync } from 'esbuild';

/**
 * run-deploy.ts bundled with esbuild into `outfile`, run by plain node as a built plugin runs: no TypeScript
 * loader in the timing or the memory.
 */
export function bundleRunDeploy(outfile: string): string {
  buildSync({
    entryPoints: [join(__dirname, 'run-deploy.ts')],
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'esm',
    outfile,
    logLevel: 'error',
    // CommonJS dependencies inside an ES module bundle still call require().
    banner: {
      js: "import { createRequire as nxAwsDeployCreateRequire } from 'node:module'; const require = nxAwsDeployCreateRequire(import.meta.url);",
    },
  });
  return outfile;
}
