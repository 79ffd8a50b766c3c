import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { deployStack, parseTemplate, startLocalAws, type LocalAwsHarness, type Template } from 'local-aws';
import { tempDir } from 'test-support';
import { exec } from './codebuild';
import { CLI } from './site';
import { outsideEnv, repoRoot } from './workspace';

/**
 * The generated roles against the local AWS as IAM (local STS sessions, every request signed and authorized): a
 * deploy as this repository's generated build role succeeds; with one action the necessity check says a deploy
 * needs taken out of its statement, the real deploy is refused where the check said, and says what to grant,
 * to whom, in which statement.
 */
let local: LocalAwsHarness;
const generated = parseTemplate(readFileSync(join(repoRoot, 'infra', 'sites-dev.yml'), 'utf8'));
beforeAll(async () => {
  local = await startLocalAws();
});
afterAll(() => local.stop());

/** The template with `action` taken out of the build role's statement `sid`. */
function without(sid: string, action: string): Template {
  const template = structuredClone(generated);
  const statements = template.Resources.BuildRole.Properties!.Policies[0].PolicyDocument.Statement as {
    Sid: string;
    Action: string[];
  }[];
  const statement = statements.find((s) => s.Sid === sid)!;
  expect(statement.Action).toContain(action);
  statement.Action = statement.Action.filter((a) => a !== action);
  return template;
}

/** Deploys a two-file site to the stack's frontend bucket as a session of its build role. */
async function deployAsBuildRole(template: Template, stackName: string) {
  const stack = await deployStack({
    endpoint: local.aws.url,
    template,
    stackName,
    parameters: {
      ConnectionArn: 'arn:aws:codeconnections:us-east-1:000000000000:connection/00000000-0000-0000-0000-000000000000',
      RepositoryId: 'local/nx-aws-deploy',
    },
  });
  const site = tempDir('least-privilege-');
  writeFileSync(join(site, 'index.html'), '<script src="/app-1a2b3c4d.js"></script>');
  writeFileSync(join(site, 'app-1a2b3c4d.js'), 'console.log(1)');
  const role = stack.properties.BuildProject.ServiceRole as string;
  const env = { ...outsideEnv(), ...(await local.assumeRole(role, 'AWSCodeBuild-least-privilege')) };
  const bucket = stack.outputs.FrontendBucketName;
  const run = await exec(process.execPath, [CLI, 'deploy', '--source-dir', site, '--bucket', bucket], site, env);
  return { ...run, output: run.stdout + run.stderr, bucket, role: role.split('/').pop()! };
}

it('deploys as the generated build role: every request signed, authorized and allowed', async () => {
  await local.resetRequests();
  const run = await deployAsBuildRole(generated, 'lp-full');
  expect([run.code, run.output]).toEqual([0, expect.any(String)]);
  const { stdout } = await local.cli(['s3api', 'list-objects-v2', '--bucket', run.bucket, '--prefix', 'app-']);
  expect(JSON.parse(stdout).Contents.map((o: { Key: string }) => o.Key)).toEqual(['app-1a2b3c4d.js']);
  const requests = (await local.requestLog()).filter((r) => r.principal?.includes(`/${run.role}/`));
  expect(requests.length).toBeGreaterThan(3);
  expect(requests.filter((r) => r.authorizations?.some((a) => !a.allowed))).toEqual([]);
});

it.each([
  ['SyncSiteObjects', 's3:PutObject', 'PutObject'],
  ['ListSiteBucket', 's3:ListBucket', 'ListObjectsV2'],
])(
  'without %s %s, the deploy is refused at %s and says what to grant, on what, to whom, in which statement',
  async (sid, action, operation) => {
    const run = await deployAsBuildRole(without(sid, action), `lp-${operation.toLowerCase()}`);
    expect(run.code).not.toBe(0);
    expect(run.output).toMatch(
      new RegExp(
        `Access denied: s3:${operation} on s3://${run.bucket}/\\S*\\. Allow ${action}\\b.* on arn:aws:s3:::${run.bucket}\\S* for arn:aws:sts::000000000000:assumed-role/${run.role}/AWSCodeBuild-least-privilege; in a stack of \`nx g nx-aws-deploy:pipeline\`, the ${sid} statement of its role grants it\\.`,
      ),
    );
    // The live site is untouched: nothing but the deploy's own bookkeeping was written.
    const { stdout } = await local.cli(['s3api', 'list-objects-v2', '--bucket', run.bucket]);
    const keys = (JSON.parse(stdout || '{}').Contents ?? []).map((o: { Key: string }) => o.Key);
    expect(keys.filter((k: string) => !k.startsWith('.nx-aws-deploy/'))).toEqual([]);
  },
);
