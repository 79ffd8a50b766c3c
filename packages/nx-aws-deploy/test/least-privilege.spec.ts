import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { deployStack, parseTemplate, startLocalAws, type LocalAwsHarness, type Template } from 'local-aws';
import { tempDir } from 'test-support';
import { deployGeneratedStack } from './cloudformation';
import { exec } from './codebuild';
import { JourneyCalls } from './iam-journey';
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
  const as = await asBuildRole(template, stackName);
  const site = join(as.dir, 'site');
  mkdirSync(site);
  writeFileSync(join(site, 'index.html'), '<script src="/app-1a2b3c4d.js"></script>');
  writeFileSync(join(site, 'app-1a2b3c4d.js'), 'console.log(1)');
  const run = await as.run('deploy', '--source-dir', 'site');
  return { ...run, bucket: as.bucket, role: as.role };
}

/** The stack deployed, and the nx-aws-deploy command run on its frontend bucket as a session of its build role. */
async function asBuildRole(template: Template, stackName: string) {
  const stack = await deployGeneratedStack(local.aws.url, stackName, template);
  const role = stack.properties.BuildProject.ServiceRole as string;
  const env = { ...outsideEnv(), ...(await local.assumeRole(role, 'AWSCodeBuild-least-privilege')) };
  const bucket = stack.outputs.FrontendBucketName;
  // The workspace the command runs in: the site it deploys is a folder of it.
  const dir = tempDir('least-privilege-');
  const run = async (command: string, ...args: string[]) => {
    const result = await exec(process.execPath, [CLI, command, '--bucket', bucket, ...args], dir, env);
    return { ...result, output: result.stdout + result.stderr };
  };
  return { stack, bucket, role: role.split('/').pop()!, dir, env, run };
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

it('CloudFront and CodePipeline refusals say what to grant, on what, to whom, in which statement', async () => {
  const as = await asBuildRole(generated, 'lp-denials');
  const principal = `arn:aws:sts::000000000000:assumed-role/${as.role}/AWSCodeBuild-least-privilege`;
  // The build role of a generated stack does not invalidate (the pipeline's Lambda does): a rollback that would ...
  mkdirSync(join(as.dir, 'site'));
  for (const version of [1, 2]) {
    writeFileSync(join(as.dir, 'site', 'index.html'), `<h1>v${version}</h1>`);
    expect((await as.run('deploy', '--source-dir', 'site')).code).toBe(0);
  }
  const distribution = as.stack.outputs.FrontendDistributionId;
  const invalidated = await as.run('rollback', '--distribution-id', distribution);
  expect([invalidated.code, invalidated.output]).toEqual([
    1,
    expect.stringMatching(
      new RegExp(
        `Access denied: cloudfront:(\\w+) on distribution ${distribution}\\. Allow cloudfront:\\1 on arn:aws:cloudfront::000000000000:distribution/${distribution} for ${principal}; in a stack of \`nx g nx-aws-deploy:pipeline\`, the InvalidateThisDistribution statement of the invalidation Lambda's role grants it`,
      ),
    ),
  ]);
  // ... and lists the executions of its own pipeline only.
  const shas = await exec(process.execPath, [CLI, 'set-shas', '--pipeline', 'another-pipeline'], as.dir, {
    ...as.env,
    CODEBUILD_RESOLVED_SOURCE_VERSION: 'f'.repeat(40),
  });
  expect([shas.code, shas.stderr]).toEqual([
    1,
    expect.stringContaining(
      `Access denied: codepipeline:ListPipelineExecutions on pipeline "another-pipeline". Allow codepipeline:ListPipelineExecutions on arn:aws:codepipeline:us-east-1:000000000000:another-pipeline for ${principal}; in a stack of \`nx g nx-aws-deploy:pipeline\`, the LastSuccessfulDeploy statement of the build role grants it.`,
    ),
  ]);
});

/** The README's rollback from a laptop (Releases and rollback): a person's role with these S3 actions only. */
const PERSON = `
Parameters:
  Bucket: { Type: String }
Resources:
  Person:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:
        Version: '2012-10-17'
        Statement: [{ Effect: Allow, Principal: { AWS: !Sub 'arn:aws:iam::\${AWS::AccountId}:root' }, Action: sts:AssumeRole }]
      Policies:
        - PolicyName: rollback-from-a-laptop
          PolicyDocument:
            Version: '2012-10-17'
            Statement:
              - Effect: Allow
                Action: [s3:ListBucket, s3:ListBucketVersions]
                Resource: !Sub 'arn:aws:s3:::\${Bucket}'
              - Effect: Allow
                Action: [s3:GetObject, s3:GetObjectVersion, s3:PutObject, s3:DeleteObject]
                Resource: !Sub 'arn:aws:s3:::\${Bucket}/*'
Outputs:
  Role: { Value: !GetAtt Person.Arn }
`;

it('deploys, a rollback of more than 20 pages and a deploy that prunes, as the build role, and a rollback by a person with the README policy: all allowed; the replay shows which grants they need', async () => {
  const as = await asBuildRole(generated, 'lp-releases');
  const site = join(as.dir, 'site');
  const build = async (version: number, ...args: string[]) => {
    rmSync(site, { recursive: true, force: true });
    mkdirSync(site);
    const asset = `app-${String(version).repeat(8)}.js`;
    writeFileSync(join(site, 'index.html'), `<script src="/${asset}"></script>`);
    writeFileSync(join(site, asset), `console.log(${version})`);
    // More than 20 pages change: a rollback checks their versions with one listing instead of a HEAD each.
    for (let page = 0; page < 24; page++) writeFileSync(join(site, `page-${page}.html`), `<p>v${version}</p>`);
    const run = await as.run('deploy', '--source-dir', 'site', ...args);
    expect([run.code, run.output]).toEqual([0, expect.any(String)]);
  };
  const journey = new JourneyCalls();
  const step = async (name: string, action: () => Promise<unknown>) => {
    await local.resetRequests();
    await action();
    const made = journey.record(as.stack, 'BuildRole', name, await local.requestLog());
    expect(made.filter((r) => r.authorizations?.some((a) => !a.allowed))).toEqual([]);
  };
  await step('deploy', () => build(1));
  await step('deploy', () => build(2));
  await step('rollback', async () => {
    const run = await as.run('rollback');
    expect([run.code, run.output]).toEqual([0, expect.stringContaining('release 1')]);
  });

  const person = await deployStack({
    endpoint: local.aws.url,
    template: parseTemplate(PERSON),
    stackName: 'lp-person',
    parameters: { Bucket: as.bucket },
  });
  const personEnv = { ...outsideEnv(), ...(await local.assumeRole(person.outputs.Role, 'alice')) };
  await local.resetRequests();
  for (const args of [['releases'], ['rollback', '--to', '2']]) {
    const run = await exec(process.execPath, [CLI, ...args, '--bucket', as.bucket], as.dir, personEnv);
    expect([args, run.code, run.stdout + run.stderr]).toEqual([args, 0, expect.any(String)]);
  }
  const byPerson = (await local.requestLog()).filter((r) => r.principal?.endsWith('/alice'));
  expect(byPerson.some((r) => r.operation === 's3.ListObjectVersions')).toBe(true);
  expect(byPerson.filter((r) => r.authorizations?.some((a) => !a.allowed))).toEqual([]);

  await step('prune', () => build(3, '--keep-releases', '1'));
  const { stdout } = await local.cli(['s3api', 'list-objects-v2', '--bucket', as.bucket, '--prefix', 'app-']);
  expect(JSON.parse(stdout).Contents.map((o: { Key: string }) => o.Key)).toEqual(['app-33333333.js']);

  const needs = Object.fromEntries(
    (await journey.grants()).filter((g) => g.neededBy.length).map((g) => [`${g.sid} ${g.action}`, g.neededBy]),
  );
  const neededBy = (grant: string, step: string) =>
    expect([grant, needs[grant]]).toEqual([grant, expect.arrayContaining([expect.stringMatching(`^${step}: `)])]);
  neededBy('SyncSiteObjects s3:GetObjectVersion', 'rollback');
  neededBy('ListSiteBucket s3:ListBucketVersions', 'rollback');
  neededBy('SyncSiteObjects s3:DeleteObject', 'prune');
}, 90_000);
