import { CloudFrontClient, CreateDistributionCommand, CreateInvalidationCommand } from '@aws-sdk/client-cloudfront';
import { startLocalAws, edgeGet, type LocalAwsHarness, s3DistributionConfig } from 'local-aws';
import { deployCommand, SITE, siteWorkspace } from './site';
import type { TestWorkspace } from './workspace';

let local: LocalAwsHarness;
let cloudfront: CloudFrontClient;
let count = 0;

beforeAll(async () => {
  local = await startLocalAws({ invalidationMs: 1500 });
  cloudfront = new CloudFrontClient({});
});
afterAll(async () => {
  cloudfront.destroy();
  await local.stop();
});

/** A bucket and a distribution in front of it, as the pipeline template creates them. */
async function newSite(): Promise<{ bucket: string; distributionId: string }> {
  const bucket = `cdn-${++count}-${Date.now()}`;
  await local.cli(['s3', 'mb', `s3://${bucket}`]);
  const { Distribution } = await cloudfront.send(
    new CreateDistributionCommand({
      DistributionConfig: s3DistributionConfig(bucket, bucket),
    }),
  );
  return { bucket, distributionId: Distribution!.Id! };
}

async function run(ws: TestWorkspace, target: string, ...args: string[]) {
  const result = await ws.nx(['run', `site:${target}`, ...args], local.env);
  return { ...result, output: result.stdout + result.stderr };
}

const cachedPaths = async (id: string): Promise<string[]> =>
  ((await (await fetch(`${local.aws.url}/_local/cloudfront/${id}/cache`)).json()) as { paths: string[] }).paths;
const urlPaths = Object.keys(SITE).map((p) => `/${encodeURI(p)}`);

describe('invalidate through nx run', () => {
  it('evicts from the edge exactly the files a deploy changed, and keeps the rest cached', async () => {
    const { bucket, distributionId } = await newSite();
    const ws = siteWorkspace({ bucket, sourceDir: 'dist/site', distributionId }, SITE, { wait: false });
    expect((await deployCommand(ws, local.env)).code).toBe(0);
    for (const path of urlPaths) expect((await edgeGet(local.aws, distributionId, path)).status).toBe(200);
    const warm = await cachedPaths(distributionId);
    expect(warm).toContain('/robots.txt');

    ws.write({
      'dist/site/robots.txt': 'User-agent: *\nDisallow: /private\n',
      'dist/site/favicon.ico': Buffer.from([0, 0, 1, 0, 2, 0]),
      'dist/site/dir with space/ünïcødé file.txt': 'changed',
      'dist/site/assets/new-Ab12Cd34.js': 'new hashed chunk: nobody has it cached',
    });
    expect((await deployCommand(ws, local.env)).code).toBe(0);
    await local.resetRequests();
    const result = await run(ws, 'invalidate', '--json');
    expect(result.code).toBe(0);
    const last = JSON.parse(
      result.stdout
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .pop()!,
    );
    expect(last).toMatchObject({
      distributionId,
      paths: ['/dir%20with%20space/%C3%BCn%C3%AFc%C3%B8d%C3%A9%20file.txt', '/favicon.ico', '/robots.txt'],
    });
    expect((await local.requests())['cloudfront.CreateInvalidation']).toBe(1);
    expect(await cachedPaths(distributionId)).toEqual(
      warm.filter((p) => !['/robots.txt', '/favicon.ico', '/dir with space/ünïcødé file.txt'].includes(p)),
    );
    expect((await edgeGet(local.aws, distributionId, '/robots.txt')).body.toString()).toContain('Disallow: /private');

    // Running it again for the same deploy finds the same invalidation instead of creating a second one.
    const again = JSON.parse(
      (await run(ws, 'invalidate', '--json')).stdout
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .pop()!,
    );
    expect(again.invalidationId).toBe(last.invalidationId);
  });

  it('creates no invalidation when the deploy changed nothing, and prints only the plan on --dry-run', async () => {
    const { bucket, distributionId } = await newSite();
    const ws = siteWorkspace({ bucket, sourceDir: 'dist/site', distributionId });
    expect((await deployCommand(ws, local.env)).code).toBe(0);
    await local.resetRequests();
    const dry = await run(ws, 'invalidate', '--dry-run');
    expect(dry.output).toMatch(/Dry run: would invalidate \d+ path\(s\) on E[A-Z0-9]+:/);
    expect(dry.output).toContain('  /robots.txt');
    expect((await deployCommand(ws, local.env)).code).toBe(0);
    const nothing = await run(ws, 'invalidate');
    expect(nothing.code).toBe(0);
    expect(nothing.output).toContain(`Nothing to invalidate on ${distributionId}`);
    expect((await local.requests())['cloudfront.CreateInvalidation']).toBeUndefined();
  });

  it('deploys and invalidates in one run with invalidate: true, waiting until Completed', async () => {
    const { bucket, distributionId } = await newSite();
    const ws = siteWorkspace({ bucket, sourceDir: 'dist/site', distributionId, invalidate: true }, SITE, {
      distributionId,
    });
    expect((await run(ws, 'deploy')).code).toBe(0);
    ws.write({ 'dist/site/robots.txt': 'changed' });
    const result = await run(ws, 'deploy');
    expect(result.code).toBe(0);
    expect(result.output).toMatch(/Invalidation I[A-Z0-9]+ on E[A-Z0-9]+: 1 path\(s\) \(\/robots\.txt\), InProgress\./);
    const waited = await run(ws, 'invalidate', '--paths=/index.html', '--wait');
    expect(waited.code).toBe(0);
    expect(waited.output).toMatch(/Invalidation I[A-Z0-9]+ completed after \d+ s\./);
  });

  it('waits out TooManyInvalidationsInProgress with backoff', async () => {
    // Its own local AWS, whose invalidations stay in progress until the test completes them.
    const busy = await startLocalAws({ invalidationMs: 600_000 });
    const client = new CloudFrontClient({ endpoint: busy.aws.url });
    try {
      const { Distribution } = await client.send(
        new CreateDistributionCommand({ DistributionConfig: s3DistributionConfig('busy', 'busy') }),
      );
      const distributionId = Distribution!.Id!;
      // CloudFront's limit of 15 wildcards in progress, reached.
      const wildcards = Array.from({ length: 15 }, (_, i) => `/busy${i}/*`);
      await client.send(
        new CreateInvalidationCommand({
          DistributionId: distributionId,
          InvalidationBatch: { CallerReference: 'busy', Paths: { Quantity: 15, Items: wildcards } },
        }),
      );
      const ws = siteWorkspace({ bucket: 'unused-bucket' }, SITE, { distributionId });
      const running = ws.nx(['run', 'site:invalidate', '--paths=/assets/*'], busy.env);
      // Once CloudFront has refused the executor's invalidation (the second CreateInvalidation), the edges finish
      // the others: its next try goes through.
      while (((await busy.requests())['cloudfront.CreateInvalidation'] ?? 0) < 2)
        await new Promise((resolve) => setTimeout(resolve, 100));
      await busy.completeInvalidations(distributionId);
      const result = await running;
      const output = result.stdout + result.stderr;
      expect([result.code, output]).toEqual([
        0,
        expect.stringMatching(/too many invalidations in progress; retrying in \d+ s/),
      ]);
      expect(output).toMatch(/Invalidation I[A-Z0-9]+ on E[A-Z0-9]+: 1 path\(s\)/);
    } finally {
      client.destroy();
      await busy.stop();
      Object.assign(process.env, local.env);
    }
  });

  it.each([
    [
      'an unknown distribution',
      { distributionId: 'EDOESNOTEXIST1' },
      ['--paths=/x'],
      /Distribution EDOESNOTEXIST1 does not exist \(cloudfront:GetDistributionConfig on distribution EDOESNOTEXIST1\)\. Fix the "distributionId" option\./,
    ],
    [
      'no manifest and no paths',
      { distributionId: 'E1' },
      [],
      /No deploy manifest at .*dist\/deploy-manifests\/site\.json: run the deploy first, or give "paths"\./,
    ],
    ['no distribution at all', {}, ['--paths=/x'], /No distribution to invalidate: set the "distributionId" option/],
    [
      'a manifest without changes',
      { distributionId: 'E1', manifest: 'dist/old-manifest.json' },
      [],
      /^invalidate: The deploy manifest .*dist\/old-manifest\.json has no "changes" list: run the deploy again to rewrite it, or give "paths"\.$/m,
    ],
  ])('fails with one clear line for %s, and invalidates nothing', async (_, options, args, message) => {
    const ws = siteWorkspace({ bucket: 'unused-bucket' }, SITE, options);
    ws.write({ 'dist/old-manifest.json': JSON.stringify({ version: 1, project: 'site', bucket: 'b', prefix: '' }) });
    await local.resetRequests();
    const result = await run(ws, 'invalidate', ...args);
    expect(result.code).not.toBe(0);
    expect(result.output).toMatch(message);
    expect((await local.requests())['cloudfront.CreateInvalidation']).toBeUndefined();
  });
});
