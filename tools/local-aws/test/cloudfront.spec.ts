import {
  CloudFrontClient,
  CreateDistributionCommand,
  GetDistributionCommand,
  ListDistributionsCommand,
  CreateInvalidationCommand,
  GetInvalidationCommand,
  ListInvalidationsCommand,
  CreateFunctionCommand,
  PublishFunctionCommand,
  waitUntilInvalidationCompleted,
  type DistributionConfig,
} from '@aws-sdk/client-cloudfront';
import { S3Client, CreateBucketCommand, PutBucketPolicyCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { startLocalAws, edgeGet, s3DistributionConfig, type LocalAwsHarness } from '../src/testing';

let local: LocalAwsHarness;
let cloudfront: CloudFrontClient;
let s3: S3Client;
const bucket = 'site-bucket';

/** The shared test distribution with the managed CachingOptimized policy. */
const config = (callerReference: string, extra: Partial<DistributionConfig> = {}): DistributionConfig =>
  s3DistributionConfig(callerReference, bucket, {
    Comment: 'local test',
    DefaultCacheBehavior: {
      TargetOriginId: 's3',
      ViewerProtocolPolicy: 'redirect-to-https',
      CachePolicyId: '658327ea-f89d-4fab-a63d-7e88639e58f6',
    },
    ...extra,
  });

async function createDistribution(callerReference: string, extra: Partial<DistributionConfig> = {}): Promise<string> {
  const { Distribution } = await cloudfront.send(
    new CreateDistributionCommand({ DistributionConfig: config(callerReference, extra) }),
  );
  return Distribution!.Id!;
}

const put = (Key: string, Body: string, CacheControl?: string, ContentType = 'text/html; charset=utf-8') =>
  s3.send(new PutObjectCommand({ Bucket: bucket, Key, Body, CacheControl, ContentType }));
const errorOf = async (p: Promise<unknown>) =>
  p.then(
    () => {
      throw new Error('expected the call to fail');
    },
    (e) => e,
  );

beforeAll(async () => {
  local = await startLocalAws({ invalidationMs: 1500 });
  cloudfront = new CloudFrontClient({});
  s3 = new S3Client({});
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
});
afterAll(async () => {
  cloudfront.destroy();
  s3.destroy();
  await local.stop();
});

describe('CloudFront API', () => {
  it('creates, gets and lists distributions', async () => {
    const { Distribution, ETag, Location } = await cloudfront.send(
      new CreateDistributionCommand({ DistributionConfig: config('api-1') }),
    );
    expect(Distribution).toMatchObject({
      Status: 'Deployed',
      DomainName: `${Distribution!.Id!.toLowerCase()}.cloudfront.localhost`,
    });
    expect(Distribution!.Id).toMatch(/^E[A-Z0-9]{13}$/);
    expect(ETag).toBeTruthy();
    expect(Location).toContain(`/distribution/${Distribution!.Id}`);
    const got = await cloudfront.send(new GetDistributionCommand({ Id: Distribution!.Id }));
    expect(got.Distribution!.DistributionConfig).toMatchObject({
      CallerReference: 'api-1',
      DefaultRootObject: 'index.html',
      Enabled: true,
    });
    const list = await cloudfront.send(new ListDistributionsCommand({}));
    expect(list.DistributionList!.Items!.map((d) => d.Id)).toContain(Distribution!.Id);
    expect(
      (await errorOf(cloudfront.send(new CreateDistributionCommand({ DistributionConfig: config('api-1') })))).name,
    ).toBe('DistributionAlreadyExists');
  });

  it('answers NoSuchDistribution and InvalidArgument as CloudFront does', async () => {
    expect((await errorOf(cloudfront.send(new GetDistributionCommand({ Id: 'EDOESNOTEXIST1' })))).name).toBe(
      'NoSuchDistribution',
    );
    const id = await createDistribution('api-2');
    const bad = await errorOf(
      cloudfront.send(
        new CreateInvalidationCommand({
          DistributionId: id,
          InvalidationBatch: { CallerReference: 'bad', Paths: { Quantity: 1, Items: ['no-slash'] } },
        }),
      ),
    );
    expect(bad.name).toBe('InvalidArgument');
    expect(bad.$metadata.httpStatusCode).toBe(400);
  });

  it('runs invalidations InProgress then Completed, idempotent per CallerReference', async () => {
    const id = await createDistribution('api-3');
    const batch = { CallerReference: 'job-1', Paths: { Quantity: 2, Items: ['/index.html', '/assets/*'] } };
    const created = await cloudfront.send(
      new CreateInvalidationCommand({ DistributionId: id, InvalidationBatch: batch }),
    );
    expect(created.Invalidation!.Status).toBe('InProgress');
    const again = await cloudfront.send(
      new CreateInvalidationCommand({ DistributionId: id, InvalidationBatch: batch }),
    );
    expect(again.Invalidation!.Id).toBe(created.Invalidation!.Id);
    const conflict = await errorOf(
      cloudfront.send(
        new CreateInvalidationCommand({
          DistributionId: id,
          InvalidationBatch: { ...batch, Paths: { Quantity: 1, Items: ['/x'] } },
        }),
      ),
    );
    expect(conflict.name).toBe('InvalidationBatchAlreadyExists');
    await waitUntilInvalidationCompleted(
      { client: cloudfront, maxWaitTime: 10, minDelay: 1 },
      { DistributionId: id, Id: created.Invalidation!.Id },
    );
    const got = await cloudfront.send(new GetInvalidationCommand({ DistributionId: id, Id: created.Invalidation!.Id }));
    expect(got.Invalidation).toMatchObject({
      Status: 'Completed',
      InvalidationBatch: { Paths: { Quantity: 2, Items: ['/index.html', '/assets/*'] } },
    });
    const list = await cloudfront.send(new ListInvalidationsCommand({ DistributionId: id }));
    expect(list.InvalidationList!.Items!.map((i) => i.Id)).toEqual([created.Invalidation!.Id]);
  });

  it('refuses more than 15 wildcard paths or 3 000 paths in progress with TooManyInvalidationsInProgress', async () => {
    const id = await createDistribution('api-4');
    const wildcards = Array.from({ length: 15 }, (_, i) => `/w${i}/*`);
    await cloudfront.send(
      new CreateInvalidationCommand({
        DistributionId: id,
        InvalidationBatch: { CallerReference: 'w1', Paths: { Quantity: 15, Items: wildcards } },
      }),
    );
    const more = await errorOf(
      cloudfront.send(
        new CreateInvalidationCommand({
          DistributionId: id,
          InvalidationBatch: { CallerReference: 'w2', Paths: { Quantity: 1, Items: ['/x/*'] } },
        }),
      ),
    );
    expect(more.name).toBe('TooManyInvalidationsInProgress');
    const paths = Array.from({ length: 3001 }, (_, i) => `/p${i}`);
    const tooMany = await errorOf(
      cloudfront.send(
        new CreateInvalidationCommand({
          DistributionId: id,
          InvalidationBatch: { CallerReference: 'p1', Paths: { Quantity: paths.length, Items: paths } },
        }),
      ),
    );
    expect(tooMany.name).toBe('TooManyInvalidationsInProgress');
  });

  it('is reachable from the aws CLI: create-invalidation and get-invalidation', async () => {
    const id = await createDistribution('api-cli');
    const created = JSON.parse(
      (
        await local.cli([
          'cloudfront',
          'create-invalidation',
          '--distribution-id',
          id,
          '--paths',
          '/index.html',
          '/about/*',
        ])
      ).stdout,
    );
    expect(created.Invalidation.InvalidationBatch.Paths.Items).toEqual(['/index.html', '/about/*']);
    const got = JSON.parse(
      (await local.cli(['cloudfront', 'get-invalidation', '--distribution-id', id, '--id', created.Invalidation.Id]))
        .stdout,
    );
    expect(got.Invalidation.Id).toBe(created.Invalidation.Id);
    expect(['InProgress', 'Completed']).toContain(got.Invalidation.Status);
  });
});

describe('local edge', () => {
  it('serves the origin with its headers, caches per Cache-Control and evicts exactly what is invalidated', async () => {
    const id = await createDistribution('edge-1');
    await put('index.html', '<h1>v1</h1>', 'no-cache');
    await put('about/index.html', 'about v1', 'public, max-age=300');
    await put('assets/app.1.js', 'js v1', 'public, max-age=31536000, immutable', 'text/javascript; charset=utf-8');
    await put('assets/app.2.js', 'js2 v1', 'public, max-age=31536000, immutable', 'text/javascript; charset=utf-8');

    const root = await edgeGet(local.aws, id, '/');
    expect(root).toMatchObject({ status: 200 });
    expect(root.body.toString()).toBe('<h1>v1</h1>');
    expect(root.headers.get('cache-control')).toBe('no-cache');
    const js = await edgeGet(local.aws, id, '/assets/app.1.js');
    expect(js.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(js.headers.get('x-cache')).toBe('Miss from cloudfront');
    expect((await edgeGet(local.aws, id, '/assets/app.1.js')).headers.get('x-cache')).toBe('Hit from cloudfront');
    await edgeGet(local.aws, id, '/assets/app.2.js');
    await edgeGet(local.aws, id, '/about/index.html');

    const cache = async () =>
      ((await (await fetch(`${local.aws.url}/_local/cloudfront/${id}/cache`)).json()) as { paths: string[] }).paths;
    expect(await cache()).toEqual(['/about/index.html', '/assets/app.1.js', '/assets/app.2.js']);

    await put('assets/app.1.js', 'js v2', 'public, max-age=31536000, immutable');
    expect((await edgeGet(local.aws, id, '/assets/app.1.js')).body.toString()).toBe('js v1');
    await cloudfront.send(
      new CreateInvalidationCommand({
        DistributionId: id,
        InvalidationBatch: { CallerReference: 'e1', Paths: { Quantity: 1, Items: ['/assets/app.1.js'] } },
      }),
    );
    expect(await cache()).toEqual(['/about/index.html', '/assets/app.2.js']);
    expect((await edgeGet(local.aws, id, '/assets/app.1.js')).body.toString()).toBe('js v2');
    await cloudfront.send(
      new CreateInvalidationCommand({
        DistributionId: id,
        InvalidationBatch: { CallerReference: 'e2', Paths: { Quantity: 1, Items: ['/assets/*'] } },
      }),
    );
    expect(await cache()).toEqual(['/about/index.html']);
  });

  it('answers 403 for a missing key and applies custom error responses (SPA fallback)', async () => {
    const plain = await createDistribution('edge-2');
    expect((await edgeGet(local.aws, plain, '/no/such/page')).status).toBe(403);
    const spa = await createDistribution('edge-3', {
      CustomErrorResponses: {
        Quantity: 1,
        Items: [{ ErrorCode: 403, ResponsePagePath: '/index.html', ResponseCode: '200', ErrorCachingMinTTL: 0 }],
      },
    });
    await put('index.html', '<h1>app</h1>', 'no-cache');
    const deep = await edgeGet(local.aws, spa, '/users/42/settings');
    expect(deep.status).toBe(200);
    expect(deep.body.toString()).toBe('<h1>app</h1>');
  });

  it('honours the bucket policy set with the aws CLI: reads only what this distribution is allowed (OAC)', async () => {
    const privateBucket = 'private-site';
    await s3.send(new CreateBucketCommand({ Bucket: privateBucket }));
    const origins = {
      Quantity: 1,
      Items: [
        {
          Id: 's3',
          DomainName: `${privateBucket}.s3.us-east-1.amazonaws.com`,
          S3OriginConfig: { OriginAccessIdentity: '' },
        },
      ],
    };
    const id = await createDistribution('edge-policy', { Origins: origins });
    const other = await createDistribution('edge-policy-other', { Origins: origins });
    for (const Key of ['index.html', '.nx-aws-deploy/state.json', 'app1/.nx-aws-deploy/state.json'])
      await s3.send(new PutObjectCommand({ Bucket: privateBucket, Key, Body: Key }));
    const cloudfrontReads = (Effect: string, Resource: string[], Condition?: object) => ({
      Effect,
      Principal: { Service: 'cloudfront.amazonaws.com' },
      Action: 's3:GetObject',
      Resource,
      ...(Condition ? { Condition } : {}),
    });
    const policy = {
      Version: '2012-10-17',
      Statement: [
        cloudfrontReads('Allow', [`arn:aws:s3:::${privateBucket}/*`], {
          StringEquals: { 'AWS:SourceArn': `arn:aws:cloudfront::000000000000:distribution/${id}` },
        }),
        cloudfrontReads('Deny', [
          `arn:aws:s3:::${privateBucket}/.nx-aws-deploy/*`,
          `arn:aws:s3:::${privateBucket}/*/.nx-aws-deploy/*`,
        ]),
      ],
    };
    await local.cli(['s3api', 'put-bucket-policy', '--bucket', privateBucket, '--policy', JSON.stringify(policy)]);
    expect(
      JSON.parse(
        JSON.parse((await local.cli(['s3api', 'get-bucket-policy', '--bucket', privateBucket])).stdout).Policy,
      ),
    ).toEqual(policy);
    expect((await edgeGet(local.aws, id, '/')).body.toString()).toBe('index.html');
    expect((await edgeGet(local.aws, id, '/.nx-aws-deploy/state.json')).status).toBe(403);
    expect((await edgeGet(local.aws, id, '/app1/.nx-aws-deploy/state.json')).status).toBe(403);
    // Another distribution is not the one the policy names.
    expect((await edgeGet(local.aws, other, '/')).status).toBe(403);
    const malformed = await errorOf(
      s3.send(new PutBucketPolicyCommand({ Bucket: privateBucket, Policy: '{"Statement": []}' })),
    );
    expect(malformed.name).toBe('MalformedPolicy');
  });

  it('runs an associated viewer-request CloudFront Function (cloudfront-js-2.0) in a sandbox', async () => {
    const code = `
      function handler(event) {
        var request = event.request;
        if (request.uri === '/old') {
          return { statusCode: 301, statusDescription: 'Moved', headers: { location: { value: '/new' } } };
        }
        if (request.uri.endsWith('/')) request.uri += 'index.html';
        return request;
      }`;
    const created = await cloudfront.send(
      new CreateFunctionCommand({
        Name: 'rewrite',
        FunctionConfig: { Comment: 'test', Runtime: 'cloudfront-js-2.0' },
        FunctionCode: Buffer.from(code),
      }),
    );
    await cloudfront.send(new PublishFunctionCommand({ Name: 'rewrite', IfMatch: created.ETag }));
    const id = await createDistribution('edge-fn', {
      DefaultCacheBehavior: {
        TargetOriginId: 's3',
        ViewerProtocolPolicy: 'allow-all',
        FunctionAssociations: {
          Quantity: 1,
          Items: [{ EventType: 'viewer-request', FunctionARN: created.FunctionSummary!.FunctionMetadata!.FunctionARN }],
        },
      },
    });
    await put('docs/index.html', 'docs', 'no-cache');
    expect((await edgeGet(local.aws, id, '/docs/')).body.toString()).toBe('docs');
    const moved = await edgeGet(local.aws, id, '/old');
    expect(moved.status).toBe(301);
    expect(moved.headers.get('location')).toBe('/new');
  });

  it('stops a runaway function and answers 503, as CloudFront does when a function exceeds its limits', async () => {
    const created = await cloudfront.send(
      new CreateFunctionCommand({
        Name: 'runaway',
        FunctionConfig: { Comment: 'test', Runtime: 'cloudfront-js-2.0' },
        FunctionCode: Buffer.from('function handler(event) { for (;;) {} }'),
      }),
    );
    await cloudfront.send(new PublishFunctionCommand({ Name: 'runaway', IfMatch: created.ETag }));
    const id = await createDistribution('edge-runaway', {
      DefaultCacheBehavior: {
        TargetOriginId: 's3',
        ViewerProtocolPolicy: 'allow-all',
        FunctionAssociations: {
          Quantity: 1,
          Items: [{ EventType: 'viewer-request', FunctionARN: created.FunctionSummary!.FunctionMetadata!.FunctionARN }],
        },
      },
    });
    const answer = await edgeGet(local.aws, id, '/anything');
    expect(answer.status).toBe(503);
    expect(answer.body.toString()).toMatch(/The CloudFront function runaway failed: Script execution timed out/);
  });
});
