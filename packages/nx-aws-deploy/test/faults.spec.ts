import { randomBytes } from 'node:crypto';
import {
  CloudFrontClient,
  CreateDistributionCommand,
  GetInvalidationCommand,
  ListInvalidationsCommand,
} from '@aws-sdk/client-cloudfront';
import { startFaultProxy } from 'fault-proxy';
import { startLocalAws, type LocalAwsHarness } from 'local-aws';
import { expectBucketMatches, newBucket } from './bucket';
import { deployCommand, SITE, siteWorkspace } from './site';

/**
 * A bad day at AWS: the fault proxy between the SDK and the local AWS answers a share of requests with 500,
 * 503 SlowDown, throttling, a reset or a stalled connection. The deploy and the invalidation still finish, and
 * the bucket, read with the aws CLI straight from the local AWS, is exactly the build.
 */
let local: LocalAwsHarness;
beforeAll(async () => {
  local = await startLocalAws({ invalidationMs: 500 });
});
afterAll(() => local.stop());

/** The example site, 120 more assets, and a 20 MB file that goes up in parts. */
function bigSite(): Record<string, string | Buffer> {
  const files: Record<string, string | Buffer> = { ...SITE, 'media/intro.mp4': randomBytes(20 * 1024 * 1024) };
  for (let i = 0; i < 120; i++)
    files[`assets/chunk-${i.toString(36).padStart(8, '0')}.js`] =
      `export const chunk${i} = ${JSON.stringify(randomBytes(200 + i).toString('base64'))};`;
  return files;
}

it('under 10 % injected faults a deploy completes and the bucket is byte-exact', async () => {
  const bucket = await newBucket(local);
  const files = bigSite();
  const ws = siteWorkspace({ bucket, sourceDir: 'dist/site' }, files);
  const proxy = await startFaultProxy({ target: local.aws.url, rate: 0.1, seed: 2026, stallMs: 1000, maxFaults: 60 });
  try {
    const result = await deployCommand(ws, { ...local.env, AWS_ENDPOINT_URL: proxy.url });
    expect([result.code, result.stderr.slice(-2000)]).toEqual([0, expect.anything()]);
  } finally {
    await proxy.stop();
  }
  const stats = proxy.stats();
  expect(stats.requests).toBeGreaterThan(120);
  expect(stats.faults).toBeGreaterThanOrEqual(5);
  expect(Object.keys(stats.byKind).length).toBeGreaterThanOrEqual(3);
  await expectBucketMatches(local, bucket, files);
}, 180_000);

it('invalidation retries throttling and 5xx from CloudFront and waits until Completed', async () => {
  const cloudfront = new CloudFrontClient({ endpoint: local.aws.url });
  const { Distribution } = await cloudfront.send(
    new CreateDistributionCommand({
      DistributionConfig: {
        CallerReference: 'faults',
        Comment: '',
        Enabled: true,
        Origins: {
          Quantity: 1,
          Items: [
            { Id: 's3', DomainName: 'faults.s3.us-east-1.amazonaws.com', S3OriginConfig: { OriginAccessIdentity: '' } },
          ],
        },
        DefaultCacheBehavior: { TargetOriginId: 's3', ViewerProtocolPolicy: 'allow-all' },
      },
    }),
  );
  const distributionId = Distribution!.Id!;
  const ws = siteWorkspace({ bucket: 'unused' }, SITE, { distributionId });
  const proxy = await startFaultProxy({
    // The first four CloudFront calls fail, each in one of these ways; the SDK's retries must carry the run through.
    target: local.aws.url,
    rate: 1,
    seed: 11,
    kinds: ['throttling', 'slow-down', 'internal-error', 'reset'],
    maxFaults: 4,
    operations: ['CreateInvalidation', 'GetInvalidation', 'GetDistributionConfig'],
  });
  try {
    const result = await ws.nx(['run', 'site:invalidate', '--paths=/index.html', '--wait'], {
      ...local.env,
      AWS_ENDPOINT_URL: proxy.url,
    });
    expect([result.code, result.stdout + result.stderr]).toEqual([
      0,
      expect.stringMatching(/Invalidation I[A-Z0-9]+ completed after/),
    ]);
  } finally {
    await proxy.stop();
  }
  expect(proxy.stats().faults).toBe(4);
  // Retried calls made one invalidation, not several.
  const list = await cloudfront.send(new ListInvalidationsCommand({ DistributionId: distributionId }));
  expect(list.InvalidationList!.Items).toHaveLength(1);
  const got = await cloudfront.send(
    new GetInvalidationCommand({ DistributionId: distributionId, Id: list.InvalidationList!.Items![0].Id! }),
  );
  expect(got.Invalidation!.Status).toBe('Completed');
  cloudfront.destroy();
}, 120_000);
