import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Runs the aws CLI with `args`; rejects as execFile does (with code, stdout and stderr) when it exits non-zero. */
export type AwsCli = (args: string[], options?: { cwd?: string }) => Promise<{ stdout: string; stderr: string }>;

interface Answer {
  code: number;
  stdout: string;
  stderr: string;
}

/** The Python interpreter that runs `aws` (its script's `#!`, through a pyenv shim too), or undefined. */
function awsPython(): string | undefined {
  try {
    let script = execFileSync('sh', ['-c', 'command -v aws'], { encoding: 'utf8' }).trim();
    if (readFileSync(script, 'utf8').slice(0, 500).includes('pyenv'))
      script = execFileSync('pyenv', ['which', 'aws'], { encoding: 'utf8' }).trim();
    return /^#!\s*(\S*python[\d.]*)\s*$/m.exec(readFileSync(script, 'utf8').split('\n', 1)[0])?.[1];
  } catch {
    return undefined;
  }
}

let python: string | undefined | null = null;

/**
 * The aws CLI, run by its own entry point in one long-lived Python process (driver.py) instead of a process per
 * call: every check a test makes with the independent client then costs milliseconds rather than a second of
 * CPU. Calls run one after the other, with `globalArgs` (e.g. --endpoint-url) first and `env` as the
 * environment. Where `aws` is not a Python script whose awscli can be imported, each call spawns `aws`.
 */
export function awsCliRunner(env: Record<string, string>, globalArgs: string[]): { cli: AwsCli; stop(): void } {
  /** undefined: not started yet; null: none to be had (each call spawns `aws`). */
  let driver: { child: ChildProcess; answers: AsyncIterator<string> } | null | undefined;
  let queue: Promise<unknown> = Promise.resolve();
  let answered = 0;

  const start = () => {
    python ??= awsPython();
    if (!python) return null;
    const child = spawn(python, [join(__dirname, 'driver.py')], { env, stdio: ['pipe', 'ignore', 'ignore', 'pipe'] });
    child.on('error', () => undefined);
    return { child, answers: createInterface({ input: child.stdio[3] as Readable })[Symbol.asyncIterator]() };
  };

  // Referenced only while a call is out: an idle driver keeps no test process alive.
  const hold = (child: ChildProcess, on: boolean) => {
    for (const handle of [child, child.stdin, child.stdio[3]] as ({ ref?(): void; unref?(): void } | null)[])
      if (on) handle?.ref?.();
      else handle?.unref?.();
  };

  const viaDriver = async (args: string[], cwd: string): Promise<Answer | undefined> => {
    if (driver === undefined) driver = start();
    if (!driver) return undefined;
    const { child, answers } = driver;
    hold(child, true);
    try {
      (child.stdin as Writable).write(`${JSON.stringify({ args: [...globalArgs, ...args], cwd })}\n`);
      const line = await answers.next();
      if (line.done) {
        driver = null;
        // It could not start (that Python has no awscli): `aws` is spawned for each call instead. Having run
        // commands, it died during this one: run again, the command could take effect twice.
        if (!answered) return undefined;
        throw new Error(`The aws CLI stopped while running aws ${args.join(' ')}`);
      }
      answered++;
      const answer = JSON.parse(line.value) as Answer;
      const text = (base64: string) => Buffer.from(base64, 'base64').toString('utf8');
      return { code: answer.code, stdout: text(answer.stdout), stderr: text(answer.stderr) };
    } finally {
      hold(child, false);
    }
  };

  const once: AwsCli = async (args, options) => {
    const answer = await viaDriver(args, options?.cwd ?? process.cwd());
    if (!answer) return run('aws', [...globalArgs, ...args], { cwd: options?.cwd, env, maxBuffer: 64 * 1024 * 1024 });
    if (answer.code !== 0)
      throw Object.assign(new Error(`Command failed: aws ${args.join(' ')}\n${answer.stderr}`), answer);
    return { stdout: answer.stdout, stderr: answer.stderr };
  };

  return {
    cli: (args, options) => {
      const result = queue.then(() => once(args, options));
      queue = result.catch(() => undefined);
      return result;
    },
    stop: () => {
      driver?.child.kill();
      driver = undefined;
    },
  };
}
