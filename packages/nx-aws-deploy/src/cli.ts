import { execFile } from 'node:child_process';
import { parseArgs, promisify } from 'node:util';
import { resolveShas } from './lib/affected/set-shas';
import { shellExports } from './lib/affected/pick-base';
import { UserError, errorMessage } from './lib/util/errors';

const USAGE = `Usage: nx-aws-deploy set-shas [--pipeline <name>] [--source-action <name>] [--bucket <bucket> [--prefix <prefix>]]

Prints shell exports of NX_HEAD, NX_BASE and NX_AFFECTED_ALL for \`nx affected\` in CodeBuild:
  eval "$(npx nx-aws-deploy set-shas)"
The base is the commit of the last successful deploy: the newest Succeeded execution of the pipeline
(default: the one that started this build), or the deploy marker in --bucket.`;

/** Projects `nx affected` will consider, for the log; the decision itself does not depend on it. */
async function affectedProjects(cwd: string, base: string, head: string, all: boolean): Promise<string> {
  const args = ['nx', 'show', 'projects', ...(all ? [] : ['--affected', `--base=${base}`, `--head=${head}`])];
  try {
    const { stdout } = await promisify(execFile)('npx', ['--no-install', ...args], { cwd, env: { ...process.env, NX_DAEMON: 'false' } });
    return stdout.trim().split('\n').filter(Boolean).join(', ') || 'none';
  } catch {
    return 'unknown (nx show projects failed)';
  }
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command !== 'set-shas') {
    console.error(USAGE);
    return command === '--help' || command === '-h' ? 0 : 2;
  }
  const { values } = parseArgs({
    args: rest,
    options: {
      pipeline: { type: 'string' }, 'source-action': { type: 'string' }, bucket: { type: 'string' }, prefix: { type: 'string' }, 'max-deepen': { type: 'string' },
    },
  });
  const log = (line: string) => console.error(line);
  const cwd = process.cwd();
  const resolution = await resolveShas({
    cwd, env: process.env, log, pipeline: values.pipeline, sourceAction: values['source-action'], bucket: values.bucket, prefix: values.prefix,
    maxDeepenRounds: values['max-deepen'] ? Number(values['max-deepen']) : undefined,
  });
  const { head, base, all, how } = resolution;
  log(all ? `set-shas: ${how}. head ${head}.` : `set-shas: base ${base} (from ${how}), head ${head}.`);
  log(`set-shas: affected projects: ${await affectedProjects(cwd, base, head, all)}`);
  console.log(shellExports({ NX_HEAD: head, NX_BASE: base, NX_AFFECTED_ALL: String(all) }));
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error) => {
    console.error(`nx-aws-deploy: ${error instanceof UserError ? error.message : errorMessage(error)}`);
    process.exit(1);
  },
);
