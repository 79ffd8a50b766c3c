import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  CloudFrontClient,
  CreateDistributionCommand,
  CreateInvalidationCommand,
  ListInvalidationsCommand,
  GetInvalidationCommand,
} from '@aws-sdk/client-cloudfront';
import {
  CodePipelineClient,
  CreatePipelineCommand,
  GetPipelineExecutionCommand,
  StartPipelineExecutionCommand,
} from '@aws-sdk/client-codepipeline';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { unzipSync, zipSync } from 'fflate';
import { startFaultProxy } from 'fault-proxy';
import { s3DistributionConfig, startLocalAws, type LocalAwsHarness } from 'local-aws';
import { packageLambda } from '../scripts/package';
import { tempDir } from 'test-support';

type Handler = (event: unknown) => Promise<void>;

let local: LocalAwsHarness;
let handler: Handler;
let lambdaDir: string;
let zipPath: string;
let distributionId: string;
let cloudfront: CloudFrontClient;
let codepipeline: CodePipelineClient;

beforeAll(async () => {
  // The handler logs for CloudWatch; keep the test output to the results (jest would print minified code frames).
  jest.spyOn(console, 'error').mockImplementation(() => undefined);
  jest.spyOn(console, 'log').mockImplementation(() => undefined);
  local = await startLocalAws({ invalidationMs: 1000 });
  cloudfront = new CloudFrontClient({});
  codepipeline = new CodePipelineClient({});
  const s3 = new S3Client({});
  await s3.send(new CreateBucketCommand({ Bucket: 'site-bucket' }));
  await s3.send(new CreateBucketCommand({ Bucket: 'artifact-store' }));
  s3.destroy();
  const { Distribution } = await cloudfront.send(
    new CreateDistributionCommand({
      DistributionConfig: s3DistributionConfig('lambda-test', 'site-bucket'),
    }),
  );
  distributionId = Distribution!.Id!;
  await codepipeline.send(
    new CreatePipelineCommand({
      pipeline: {
        name: 'web',
        roleArn: 'arn:aws:iam::000000000000:role/p',
        artifactStore: { type: 'S3', location: 'artifact-store' },
        stages: [],
      },
    }),
  );

  // The handler under test is the one in the packaged zip, not the source. The Lambda runtime provides
  // the AWS SDK; here it resolves from the workspace's node_modules above the unpacked folder.
  zipPath = packageLambda(tempDir('lambda-out-')).zipPath;
  lambdaDir = mkdtempSync(join(__dirname, '..', '.tmp-lambda-'));
  writeFileSync(join(lambdaDir, 'index.js'), unzipSync(readFileSync(zipPath))['index.js']);
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- the packaged CommonJS file, loaded as the runtime loads it
  handler = require(join(lambdaDir, 'index.js')).handler;
});

afterAll(async () => {
  rmSync(lambdaDir, { recursive: true, force: true });
  cloudfront.destroy();
  codepipeline.destroy();
  await local.stop();
});

async function invalidations(): Promise<string[]> {
  const list = await cloudfront.send(new ListInvalidationsCommand({ DistributionId: distributionId }));
  return (list.InvalidationList?.Items ?? []).map((i) => i.Id!);
}

async function invoke(request: Parameters<LocalAwsHarness['createJob']>[0]) {
  const { jobId, event } = await local.createJob({ pipelineName: 'web', ...request });
  await expect(handler(event)).resolves.toBeUndefined();
  return { jobId, event, job: await local.job(jobId) };
}

describe('the packaged zip', () => {
  it('is small and reproducible', () => {
    const bytes = readFileSync(zipPath);
    expect(bytes.length).toBeLessThanOrEqual(300 * 1024);
    const again = readFileSync(packageLambda(tempDir('lambda-out-')).zipPath);
    expect(createHash('sha256').update(again).digest('hex')).toBe(createHash('sha256').update(bytes).digest('hex'));
  });
});

describe('the invoke handler against the local CodePipeline and CloudFront', () => {
  it('invalidates the paths in UserParameters and reports success; the pipeline execution succeeds', async () => {
    const { pipelineExecutionId } = await codepipeline.send(new StartPipelineExecutionCommand({ name: 'web' }));
    const before = await invalidations();
    const { job } = await invoke({
      pipelineExecutionId,
      userParameters: JSON.stringify({ distributionId, paths: ['/index.html', '/about/'] }),
    });
    expect(job.status).toBe('Succeeded');
    expect(JSON.stringify(job.executionDetails)).toMatch(
      /Invalidation I[A-Z0-9]+ on E[A-Z0-9]+: 2 path\(s\) \(\/index\.html, \/about\/\), InProgress\./,
    );
    expect((await invalidations()).length).toBe(before.length + 1);
    const execution = await codepipeline.send(
      new GetPipelineExecutionCommand({ pipelineName: 'web', pipelineExecutionId }),
    );
    expect(execution.pipelineExecution!.status).toBe('Succeeded');
  });

  it('plans the paths from the deploy manifest in the input artifact', async () => {
    const manifest = {
      version: 1,
      project: 'frontend',
      bucket: 'site-bucket',
      prefix: '',
      distributionId,
      deployedAt: '2026-11-25T00:00:00Z',
      deploy: 4,
      hasIndex: true,
      unchanged: 30,
      changes: [
        { key: 'index.html', action: 'replaced', immutable: false },
        { key: 'assets/app-B-XZhOr9.js', action: 'created', immutable: true },
        { key: 'robots.txt', action: 'replaced', immutable: false },
      ],
    };
    const artifact = zipSync({
      'dist/deploy-manifests/frontend.json': Buffer.from(JSON.stringify(manifest)),
      'dist/other.txt': Buffer.from('x'),
    });
    const s3 = new S3Client({});
    await s3.send(new PutObjectCommand({ Bucket: 'artifact-store', Key: 'web/BuildOutput/abc.zip', Body: artifact }));
    s3.destroy();
    const { job } = await invoke({
      userParameters: JSON.stringify({ distributionId }),
      inputArtifacts: [{ name: 'BuildOutput', bucket: 'artifact-store', key: 'web/BuildOutput/abc.zip' }],
    });
    expect(job.status).toBe('Succeeded');
    const id = (job.executionDetails as { externalExecutionId: string }).externalExecutionId;
    const got = await cloudfront.send(new GetInvalidationCommand({ DistributionId: distributionId, Id: id }));
    expect(got.Invalidation!.InvalidationBatch!.Paths!.Items).toEqual(['/', '/index.html', '/robots.txt']);
  });

  it('a batch build: one invalidation per distribution, planned across every manifest of the combined artifact; a retry adds none', async () => {
    const { Distribution: docs } = await cloudfront.send(
      new CreateDistributionCommand({
        DistributionConfig: s3DistributionConfig('lambda-test-docs', 'docs'),
      }),
    );
    const manifest = (project: string, id: string, keys: string[]) =>
      Buffer.from(
        JSON.stringify({
          version: 1,
          project,
          bucket: project,
          prefix: '',
          distributionId: id,
          deployedAt: '2026-11-26T00:00:00Z',
          deploy: 1,
          hasIndex: true,
          unchanged: 0,
          changes: keys.map((key) => ({ key, action: 'replaced', immutable: false })),
        }),
      );
    // CodePipeline's CombineArtifacts: a folder per build identifier of the batch.
    const artifact = zipSync({
      'build_web/dist/deploy-manifests/web.json': manifest('web', distributionId, ['index.html']),
      'build_admin/dist/deploy-manifests/admin.json': manifest('admin', distributionId, ['admin/index.html']),
      'build_docs/dist/deploy-manifests/docs.json': manifest('docs', docs!.Id!, ['guide.html']),
    });
    const s3 = new S3Client({});
    await s3.send(new PutObjectCommand({ Bucket: 'artifact-store', Key: 'web/Combined/batch.zip', Body: artifact }));
    s3.destroy();
    const { jobId, event } = await local.createJob({
      pipelineName: 'web',
      userParameters: JSON.stringify({ wait: true }),
      inputArtifacts: [{ name: 'Combined', bucket: 'artifact-store', key: 'web/Combined/batch.zip' }],
    });
    const list = async (id: string) =>
      (await cloudfront.send(new ListInvalidationsCommand({ DistributionId: id }))).InvalidationList?.Items ?? [];
    const before = (await list(distributionId)).length;
    await handler(event);
    await handler(event);
    const job = await local.job(jobId);
    expect(job.status).toBe('Succeeded');
    const [web, docsInvalidations] = [await list(distributionId), await list(docs!.Id!)];
    expect([web.length - before, docsInvalidations.length]).toEqual([1, 1]);
    const paths = async (id: string, inv: string) =>
      (await cloudfront.send(new GetInvalidationCommand({ DistributionId: id, Id: inv }))).Invalidation!
        .InvalidationBatch!.Paths!.Items;
    expect(await paths(distributionId, web[0].Id!)).toEqual([
      '/',
      '/admin',
      '/admin/',
      '/admin/index.html',
      '/index.html',
    ]);
    expect(await paths(docs!.Id!, docsInvalidations[0].Id!)).toEqual(['/guide.html']);
    // Waiting for both: the continuation token names each distribution's invalidation.
    expect(job.continuationToken).toMatch(/^E[A-Z0-9]+:I[A-Z0-9]+,E[A-Z0-9]+:I[A-Z0-9]+$/);
    await new Promise((resolve) => setTimeout(resolve, 1200));
    const done = await invoke({
      userParameters: JSON.stringify({ wait: true }),
      continuationToken: job.continuationToken,
    });
    expect([done.job.status, done.job.continuationToken]).toEqual(['Succeeded', undefined]);
  });

  it('succeeds with nothing to invalidate when every build of the job shipped nothing (a backend-only push)', async () => {
    const artifact = zipSync({
      'deploy_web/dist/deploy-manifests/nothing-deployed': new Uint8Array(),
      'deploy_docs/dist/deploy-manifests/nothing-deployed': new Uint8Array(),
    });
    const s3 = new S3Client({});
    await s3.send(new PutObjectCommand({ Bucket: 'artifact-store', Key: 'web/Combined/none.zip', Body: artifact }));
    s3.destroy();
    const before = await invalidations();
    const { job } = await invoke({
      userParameters: '{}',
      inputArtifacts: [{ name: 'Combined', bucket: 'artifact-store', key: 'web/Combined/none.zip' }],
    });
    expect([job.status, JSON.stringify(job.executionDetails)]).toEqual([
      'Succeeded',
      expect.stringContaining('Nothing to invalidate: the build deployed nothing (no project was affected).'),
    ]);
    expect(await invalidations()).toEqual(before);
  });

  it('fails the job naming the manifest when it names no distribution and UserParameters gives none', async () => {
    const manifest = {
      version: 1,
      project: 'frontend',
      bucket: 'b',
      prefix: '',
      deployedAt: '',
      deploy: 1,
      hasIndex: true,
      unchanged: 0,
      changes: [],
    };
    const artifact = zipSync({ 'dist/deploy-manifests/frontend.json': Buffer.from(JSON.stringify(manifest)) });
    const s3 = new S3Client({});
    await s3.send(
      new PutObjectCommand({ Bucket: 'artifact-store', Key: 'web/BuildOutput/nodist.zip', Body: artifact }),
    );
    s3.destroy();
    const { job } = await invoke({
      userParameters: '{}',
      inputArtifacts: [{ name: 'BuildOutput', bucket: 'artifact-store', key: 'web/BuildOutput/nodist.zip' }],
    });
    expect([job.status, job.failureDetails?.message]).toEqual([
      'Failed',
      'The deploy manifest dist/deploy-manifests/frontend.json in artifact BuildOutput names no distribution and UserParameters gives no "distributionId": set "distributionId" in the project\'s deploy options, or give it in UserParameters.',
    ]);
  });

  it('fails the job with one line naming the file when a manifest in the artifact is malformed', async () => {
    const artifact = zipSync({
      'dist/deploy-manifests/frontend.json': Buffer.from(
        JSON.stringify({ version: 1, project: 'frontend', prefix: '' }),
      ),
    });
    const s3 = new S3Client({});
    await s3.send(new PutObjectCommand({ Bucket: 'artifact-store', Key: 'web/BuildOutput/bad.zip', Body: artifact }));
    s3.destroy();
    const before = await invalidations();
    const { job } = await invoke({
      userParameters: JSON.stringify({ distributionId }),
      inputArtifacts: [{ name: 'BuildOutput', bucket: 'artifact-store', key: 'web/BuildOutput/bad.zip' }],
    });
    expect([job.status, job.failureDetails?.message]).toEqual([
      'Failed',
      'The deploy manifest dist/deploy-manifests/frontend.json in artifact BuildOutput has no "changes" list: run the deploy again to rewrite it, or give "paths".',
    ]);
    expect(await invalidations()).toEqual(before);
  });

  it('with wait, answers a continuation token until the invalidation completed', async () => {
    const { job } = await invoke({
      userParameters: JSON.stringify({ distributionId, paths: ['/wait.html'], wait: true }),
    });
    expect(job).toMatchObject({
      status: 'Succeeded',
      continuationToken: expect.stringMatching(/^E[A-Z0-9]+:I[A-Z0-9]+$/),
    });
    const soon = await invoke({
      userParameters: JSON.stringify({ distributionId, wait: true }),
      continuationToken: job.continuationToken,
    });
    expect(soon.job.continuationToken).toBe(job.continuationToken);
    await new Promise((resolve) => setTimeout(resolve, 1200));
    const done = await invoke({
      userParameters: JSON.stringify({ distributionId, wait: true }),
      continuationToken: job.continuationToken,
    });
    expect(done.job.status).toBe('Succeeded');
    expect(done.job.continuationToken).toBeUndefined();
    expect(JSON.stringify(done.job.executionDetails)).toContain('Completed');
  });

  it('creates one invalidation per job even when the invocation is retried', async () => {
    const { jobId, event } = await local.createJob({
      pipelineName: 'web',
      userParameters: JSON.stringify({ distributionId, paths: ['/retried.html'] }),
    });
    const before = await invalidations();
    await handler(event);
    await expect(handler(event)).resolves.toBeUndefined();
    expect((await invalidations()).length).toBe(before.length + 1);
    expect((await local.job(jobId)).status).toBe('Succeeded');
  });

  it('retries throttling and 5xx from CloudFront and CodePipeline (fault proxy) and still reports once, with one invalidation', async () => {
    const proxy = await startFaultProxy({
      target: local.aws.url,
      rate: 0.6,
      seed: 3,
      kinds: ['throttling', 'internal-error', 'slow-down'],
      maxFaults: 4,
      operations: ['CreateInvalidation', 'GetDistributionConfig', 'PutJobSuccessResult', 'PutJobFailureResult'],
    });
    const before = await invalidations();
    process.env.AWS_ENDPOINT_URL = proxy.url;
    try {
      const { job } = await invoke({ userParameters: JSON.stringify({ distributionId, paths: ['/flaky.html'] }) });
      expect([job.status, job.failureDetails?.message]).toEqual(['Succeeded', undefined]);
    } finally {
      process.env.AWS_ENDPOINT_URL = local.aws.url;
      await proxy.stop();
    }
    expect(proxy.stats().faults).toBeGreaterThanOrEqual(2);
    expect((await invalidations()).length).toBe(before.length + 1);
  });

  it('against a CloudFront that accepts and never answers, gives up after its attempts and fails the job saying where', async () => {
    const proxy = await startFaultProxy({
      target: local.aws.url,
      rate: 1,
      kinds: ['hang'],
      operations: ['CreateInvalidation'],
    });
    const before = await invalidations();
    process.env.AWS_ENDPOINT_URL = proxy.url;
    const started = Date.now();
    try {
      // Each of the 3 attempts gives up after 1 s without progress instead of the default 5.
      const { job } = await invoke({
        userParameters: JSON.stringify({ distributionId, paths: ['/stalled.html'], requestTimeout: 1 }),
      });
      expect(job.status).toBe('Failed');
      expect(job.failureDetails!.message).toBe(
        `cloudfront:CreateInvalidation on distribution ${distributionId}: no answer from ${proxy.url} in 3 attempts, each aborted when it stalled. Check the network and the endpoint (AWS_ENDPOINT_URL), or raise the "requestTimeout" option.`,
      );
    } finally {
      process.env.AWS_ENDPOINT_URL = local.aws.url;
      await proxy.stop();
    }
    // About 3 × 1 s, not the 120 s the generated template gives the function.
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(await invalidations()).toEqual(before);
  }, 90_000);

  it('when reporting success keeps failing, fails the job saying the invalidation exists and a retry is safe', async () => {
    const proxy = await startFaultProxy({
      target: local.aws.url,
      rate: 1,
      kinds: ['internal-error'],
      maxFaults: 6,
      operations: ['PutJobSuccessResult'],
    });
    process.env.AWS_ENDPOINT_URL = proxy.url;
    try {
      const { job } = await invoke({ userParameters: JSON.stringify({ distributionId, paths: ['/unreported.html'] }) });
      expect(job.status).toBe('Failed');
      expect(job.failureDetails!.message).toMatch(
        /^Invalidation I[A-Z0-9]+ on E[A-Z0-9]+: 1 path\(s\) \(\/unreported\.html\), InProgress\. Reporting success to CodePipeline failed \(.*\): retry the stage; it finds the same invalidation\.$/,
      );
    } finally {
      process.env.AWS_ENDPOINT_URL = local.aws.url;
      await proxy.stop();
    }
    expect(proxy.stats().faults).toBe(6);
  });

  it("waits out TooManyInvalidationsInProgress with backoff, within the Lambda's time", async () => {
    const wildcards = Array.from({ length: 15 }, (_, i) => `/busy${i}/*`);
    await cloudfront.send(
      new CreateInvalidationCommand({
        DistributionId: distributionId,
        InvalidationBatch: { CallerReference: 'fill', Paths: { Quantity: 15, Items: wildcards } },
      }),
    );
    const { job } = await invoke({ userParameters: JSON.stringify({ distributionId, paths: ['/after-busy/*'] }) });
    expect(job.status).toBe('Succeeded');
    expect(JSON.stringify(job.executionDetails)).toContain('/after-busy/*');
  });

  it('leaks no credential (its own or the artifact credentials of the job) in logs or job results', async () => {
    const sentinels = {
      AWS_SECRET_ACCESS_KEY: 'SENTINELlambdaSecret1a2b',
      AWS_SESSION_TOKEN: 'SENTINELlambdaToken3c4d',
    };
    const saved = {
      AWS_SECRET_ACCESS_KEY: process.env.AWS_SECRET_ACCESS_KEY,
      AWS_SESSION_TOKEN: process.env.AWS_SESSION_TOKEN,
    };
    Object.assign(process.env, sentinels);
    const logged = [console.log as jest.Mock, console.error as jest.Mock];
    logged.forEach((mock) => mock.mockClear());
    const results = [];
    try {
      for (const request of [
        { userParameters: JSON.stringify({ distributionId, paths: ['/secret-test.html'] }) },
        {
          userParameters: JSON.stringify({ distributionId }),
          inputArtifacts: [{ name: 'Gone', bucket: 'artifact-store', key: 'gone.zip' }],
        },
        { userParameters: JSON.stringify({ distributionId: 'EDOESNOTEXIST2', paths: ['/x'] }) },
      ]) {
        const { jobId, event } = await local.createJob({ pipelineName: 'web', ...request });
        const data = (event as { 'CodePipeline.job': { data: Record<string, unknown> } })['CodePipeline.job'].data;
        data.artifactCredentials = {
          accessKeyId: 'ASIALOCAL',
          secretAccessKey: 'SENTINELartifactSecret5e6f',
          sessionToken: 'SENTINELartifactToken7a8b',
        };
        await handler(event);
        results.push(await local.job(jobId));
      }
    } finally {
      Object.assign(process.env, saved);
    }
    expect(results.map((job) => job.status)).toEqual(['Succeeded', 'Failed', 'Failed']);
    const everything = JSON.stringify([results, logged.map((mock) => mock.mock.calls)]);
    expect(everything).toMatch(/does not exist/);
    expect(everything).not.toMatch(/SENTINEL/);
  });

  it('fails the job saying which permission is missing when CloudFront denies access', async () => {
    await local.injectFault({
      operation: 'cloudfront.CreateInvalidation',
      count: 1,
      action: 'error',
      status: 403,
      code: 'AccessDenied',
    });
    const { job } = await invoke({ userParameters: JSON.stringify({ distributionId, paths: ['/denied.html'] }) });
    expect(job.status).toBe('Failed');
    expect(job.failureDetails!.message).toBe(
      `Access denied: cloudfront:CreateInvalidation on distribution ${distributionId}. Allow cloudfront:CreateInvalidation on arn:aws:cloudfront::<account>:distribution/${distributionId} for the role this runs as (AWS_PROFILE, or the CodeBuild project's or the Lambda function's role); in a stack of \`nx g nx-aws-deploy:pipeline\`, the InvalidateThisDistribution statement of the invalidation Lambda's role grants it (InvalidateThePromotedDistribution of the promote role, for promote).`,
    );
  });

  it.each<
    [
      string,
      { userParameters?: string | (() => string); inputArtifacts?: { name: string; bucket: string; key: string }[] },
      RegExp,
    ]
  >([
    [
      'UserParameters that are not JSON',
      { userParameters: 'distributionId=E1' },
      /^UserParameters is not valid JSON \(distributionId=E1\): set it to JSON like/,
    ],
    ['empty UserParameters', {}, /^UserParameters is empty/],
    [
      'paths without distributionId',
      { userParameters: '{"paths":["/x"]}' },
      /^UserParameters has "paths" but no "distributionId"/,
    ],

    [
      'a requestTimeout the function could not wait out',
      { userParameters: '{"distributionId":"E1","requestTimeout":60}' },
      /^UserParameters "requestTimeout" must be a number of seconds from 1 to 20/,
    ],
    [
      'paths that do not start with /',
      { userParameters: '{"distributionId":"E1","paths":["x"]}' },
      /"paths" must be a list of paths that start with \//,
    ],
    [
      'an unknown distribution',
      { userParameters: '{"distributionId":"EDOESNOTEXIST1","paths":["/x"]}' },
      /^Distribution EDOESNOTEXIST1 does not exist/,
    ],
    [
      'an event without artifacts or paths',
      { userParameters: () => JSON.stringify({ distributionId }) },
      /no input artifact and UserParameters gives no "paths"/,
    ],
    [
      'a previews job that no pull request started (its variable unresolved)',
      {
        userParameters:
          '{"previews":{"action":"publish","pullRequest":"#{SourceVariables.PullRequestId}","keyValueStoreArn":"arn:aws:cloudfront::1:key-value-store/x","sites":[{"bucket":"b","site":"web"}]}}',
      },
      /^UserParameters "previews.pullRequest" is "#\{SourceVariables.PullRequestId\}", not a pull request's number: run this action in a pipeline that a pull request started/,
    ],
    [
      'a previews job without sites',
      {
        userParameters:
          '{"previews":{"action":"remove","pullRequest":"7","keyValueStoreArn":"arn:aws:cloudfront::1:key-value-store/x","sites":[]}}',
      },
      /^UserParameters "previews.sites" must list each site's bucket and key/,
    ],
    [
      'a previews job with a bucket that holds no staged release',
      {
        userParameters:
          '{"previews":{"action":"publish","pullRequest":"7","keyValueStoreArn":"arn:aws:cloudfront::1:key-value-store/x","sites":[{"bucket":"no-such-site-bucket","site":"web"}]}}',
      },
      /^Bucket "no-such-site-bucket" does not exist \(s3:GetObject on s3:\/\/no-such-site-bucket\/_previews\/pr-7\/\.nx-aws-deploy\/file-index\.json\)/,
    ],
    [
      'an artifact without a manifest',
      {
        userParameters: () => JSON.stringify({ distributionId }),
        inputArtifacts: [{ name: 'Empty', bucket: 'artifact-store', key: 'missing.zip' }],
      },
      /Could not read input artifact Empty \(s3:\/\/artifact-store\/missing\.zip\): NoSuchKey/,
    ],
  ])('fails the job with an actionable message for %s', async (_, request, message) => {
    const userParameters =
      typeof request.userParameters === 'function' ? request.userParameters() : request.userParameters;
    const { job } = await invoke({ ...request, userParameters } as Parameters<LocalAwsHarness['createJob']>[0]);
    expect(job.status).toBe('Failed');
    expect(job.failureDetails!.message).toMatch(message);
    expect(job.failureDetails!.message).not.toMatch(/secretAccessKey|sessionToken/);
  });
});
