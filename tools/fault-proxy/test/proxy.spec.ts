import { CloudFrontClient, CreateInvalidationCommand } from '@aws-sdk/client-cloudfront';
import { CodePipelineClient, ListPipelinesCommand } from '@aws-sdk/client-codepipeline';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { startLocalAws, type LocalAwsHarness } from 'local-aws';
import { startFaultProxy, type FaultKind, type FaultProxy } from '../src';

let local: LocalAwsHarness;
let proxy: FaultProxy | undefined;
beforeAll(async () => {
  local = await startLocalAws();
  await local.cli(['s3', 'mb', 's3://proxied']);
});
afterEach(async () => proxy?.stop());
afterAll(() => local.stop());

const clients = (endpoint: string, maxAttempts: number) => {
  const config = { endpoint, region: 'us-east-1', maxAttempts, forcePathStyle: true, retryStrategy: undefined };
  return {
    s3: new S3Client(config),
    cloudfront: new CloudFrontClient(config),
    codepipeline: new CodePipelineClient(config),
  };
};
const failure = (promise: Promise<unknown>) =>
  promise.then(
    () => undefined,
    (error: Error & { $metadata?: { httpStatusCode?: number } }) => [error.name, error.$metadata?.httpStatusCode],
  );

describe('fault-proxy', () => {
  it('forwards requests and answers unchanged when it injects nothing', async () => {
    proxy = await startFaultProxy({ target: local.aws.url, rate: 0 });
    const { s3 } = clients(proxy.url, 1);
    const body = Buffer.from(Array.from({ length: 70_000 }, (_, i) => i % 251));
    await s3.send(
      new PutObjectCommand({ Bucket: 'proxied', Key: 'a/b c.bin', Body: body, ContentType: 'application/x-test' }),
    );
    const got = await s3.send(new GetObjectCommand({ Bucket: 'proxied', Key: 'a/b c.bin' }));
    expect(Buffer.from(await got.Body!.transformToByteArray()).equals(body)).toBe(true);
    expect(got.ContentType).toBe('application/x-test');
    expect(proxy.stats()).toMatchObject({ requests: 2, faults: 0 });
  });

  it.each<[FaultKind, unknown[]]>([
    [
      'internal-error',
      [
        ['InternalError', 500],
        ['InternalError', 500],
        ['InternalFailure', 500],
      ],
    ],
    [
      'slow-down',
      [
        ['SlowDown', 503],
        ['ServiceUnavailable', 503],
        ['ServiceUnavailable', 503],
      ],
    ],
    [
      'throttling',
      [
        ['SlowDown', 503],
        ['Throttling', 400],
        ['ThrottlingException', 400],
      ],
    ],
  ])("answers %s in each service's own wire format, as the SDK parses it", async (kind, expected) => {
    proxy = await startFaultProxy({ target: local.aws.url, rate: 1, kinds: [kind] });
    const { s3, cloudfront, codepipeline } = clients(proxy.url, 1);
    expect([
      await failure(s3.send(new PutObjectCommand({ Bucket: 'proxied', Key: 'x', Body: 'x' }))),
      await failure(
        cloudfront.send(
          new CreateInvalidationCommand({
            DistributionId: 'E1',
            InvalidationBatch: { CallerReference: 'r', Paths: { Quantity: 1, Items: ['/x'] } },
          }),
        ),
      ),
      await failure(codepipeline.send(new ListPipelinesCommand({}))),
    ]).toEqual(expected);
  });

  it('resets connections and stalls them (then resets) for the chosen operations only', async () => {
    proxy = await startFaultProxy({
      target: local.aws.url,
      rate: 1,
      kinds: ['stall'],
      stallMs: 300,
      operations: ['PutObject'],
    });
    const { s3, codepipeline } = clients(proxy.url, 1);
    const started = Date.now();
    const error = await s3
      .send(new PutObjectCommand({ Bucket: 'proxied', Key: 'x', Body: 'x' }))
      .catch((e: Error) => e);
    expect(error).toBeInstanceOf(Error);
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    await expect(codepipeline.send(new ListPipelinesCommand({}))).resolves.toBeDefined();
    await proxy.stop();
    proxy = await startFaultProxy({ target: local.aws.url, rate: 1, kinds: ['reset'] });
    await expect(
      clients(proxy.url, 1).s3.send(new GetObjectCommand({ Bucket: 'proxied', Key: 'x' })),
    ).rejects.toThrow();
    expect(proxy.stats().byKind).toEqual({ reset: 1 });
  });

  it('hangs: accepts the request and never answers nor closes, until the client gives up or the proxy stops', async () => {
    proxy = await startFaultProxy({ target: local.aws.url, rate: 1, kinds: ['hang'], operations: ['GetObject'] });
    const s3 = new S3Client({
      endpoint: proxy.url,
      region: 'us-east-1',
      maxAttempts: 1,
      forcePathStyle: true,
      requestHandler: { socketTimeout: 700 },
    });
    const started = Date.now();
    await expect(s3.send(new GetObjectCommand({ Bucket: 'proxied', Key: 'x' }))).rejects.toThrow(/timed out/);
    expect(Date.now() - started).toBeGreaterThanOrEqual(650);
    // Only the chosen operation hangs.
    await expect(s3.send(new PutObjectCommand({ Bucket: 'proxied', Key: 'y', Body: 'y' }))).resolves.toBeDefined();
    const hung = s3.send(new GetObjectCommand({ Bucket: 'proxied', Key: 'x' }), { requestTimeout: 60_000 } as never);
    await new Promise((resolve) => setTimeout(resolve, 200));
    await proxy.stop();
    await expect(hung).rejects.toThrow();
    s3.destroy();
  });

  it('with the SDK retrying, every request succeeds through 30 % faults', async () => {
    proxy = await startFaultProxy({ target: local.aws.url, rate: 0.3, seed: 7, stallMs: 200 });
    const { s3 } = clients(proxy.url, 10);
    for (let i = 0; i < 20; i++)
      await s3.send(new PutObjectCommand({ Bucket: 'proxied', Key: `retry/${i}`, Body: `body ${i}` }));
    expect(proxy.stats().faults).toBeGreaterThan(2);
    const listed = JSON.parse(
      (await local.cli(['s3api', 'list-objects-v2', '--bucket', 'proxied', '--prefix', 'retry/'])).stdout,
    );
    expect(listed.Contents).toHaveLength(20);
  });

  it('is bounded: no more than maxFaults faults, requests beyond maxRequests refused, closed after its lifetime', async () => {
    proxy = await startFaultProxy({
      target: local.aws.url,
      rate: 1,
      kinds: ['internal-error'],
      maxFaults: 2,
      maxRequests: 4,
      lifetimeMs: 500,
    });
    const { codepipeline } = clients(proxy.url, 1);
    const outcomes = [];
    for (let i = 0; i < 5; i++) outcomes.push(await failure(codepipeline.send(new ListPipelinesCommand({}))));
    expect(outcomes).toEqual([
      ['InternalFailure', 500],
      ['InternalFailure', 500],
      undefined,
      undefined,
      ['ServiceUnavailable', 503],
    ]);
    await new Promise((resolve) => setTimeout(resolve, 700));
    await expect(codepipeline.send(new ListPipelinesCommand({}))).rejects.toThrow(/ECONNREFUSED/);
  });

  it('decides the same way for the same seed', async () => {
    const decisions = async (seed: number) => {
      const p = await startFaultProxy({ target: local.aws.url, rate: 0.5, seed, kinds: ['internal-error'] });
      const { codepipeline } = clients(p.url, 1);
      const result = [];
      for (let i = 0; i < 12; i++) result.push(await failure(codepipeline.send(new ListPipelinesCommand({}))));
      await p.stop();
      return result;
    };
    expect(await decisions(42)).toEqual(await decisions(42));
    expect(await decisions(42)).not.toEqual(await decisions(43));
  });
});
