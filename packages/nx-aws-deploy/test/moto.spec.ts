import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import {
  CloudFrontClient,
  CreateDistributionCommand,
  ListInvalidationsCommand,
  GetInvalidationCommand,
} from '@aws-sdk/client-cloudfront';
import { motoInstalled, startMoto, type MotoHarness, s3DistributionConfig } from 'local-aws';
import { expectBucketMatches, newBucket, newVersionedBucket } from './bucket';
import { CLI, deployCommand, SITE, siteWorkspace } from './site';
import { outsideEnv, type TestWorkspace } from './workspace';

/**
 * The deploy and invalidate journey against moto's server, an emulator nobody here wrote (tools/local-aws shares
 * our blind spots): first deploy, a same-bytes rebuild, header rules that rewrite a multipart object in place,
 * a change with a prune, the invalidation of what changed, and a rollback. Results are read with the aws CLI.
 */
const installed = motoInstalled();
if (!installed) console.warn('moto_server is not installed: the deploy journey against moto is SKIPPED.');

(installed ? describe : describe.skip)('deploy and invalidate against moto_server', () => {
  let moto: MotoHarness;
  beforeAll(async () => {
    moto = await startMoto();
  }, 60_000);
  afterAll(() => moto?.stop());

  /** The JSON summary a run prints last, once it succeeded. */
  function summaryOf(result: { code: number; stdout: string; stderr: string }) {
    expect([result.code, result.stdout + result.stderr]).toEqual([0, expect.anything()]);
    return JSON.parse(
      result.stdout
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .pop()!,
    );
  }
  /** `nx run site:<target>`: the executors, for header rules and the invalidation. */
  const run = async (ws: TestWorkspace, target: string) =>
    summaryOf(await ws.nx(['run', `site:${target}`, '--json'], moto.env));
  /** The site's deploy as the command, with its project.json options (see deployCommand). */
  const ship = async (ws: TestWorkspace) => summaryOf(await deployCommand(ws, moto.env, '--json'));

  it('ships, skips what is unchanged, updates headers in place, prunes, invalidates exactly what changed, and rolls back', async () => {
    const bucket = await newBucket(moto, 'moto');
    const cloudfront = new CloudFrontClient({
      endpoint: moto.url,
      region: 'us-east-1',
      credentials: { accessKeyId: 'moto', secretAccessKey: 'moto' },
    });
    const { Distribution } = await cloudfront.send(
      new CreateDistributionCommand({
        DistributionConfig: s3DistributionConfig('moto-journey', bucket),
      }),
    );
    const distributionId = Distribution!.Id!;
    const files: Record<string, string | Buffer> = { ...SITE, 'media/intro.mp4': randomBytes(20 * 1024 * 1024) };
    const ws = siteWorkspace({ bucket, sourceDir: 'dist/site', distributionId }, files, { distributionId });

    const first = await ship(ws);
    expect(first).toMatchObject({ uploaded: { files: 11 }, deleted: { files: 0 } });
    await expectBucketMatches(moto, bucket, files);

    ws.touchAll('dist/site');
    const rebuild = await ship(ws);
    expect(rebuild).toMatchObject({ uploaded: { files: 0 }, metadataUpdated: { files: 0 }, unchanged: { files: 11 } });
    expect(rebuild.requests.HeadObject).toBeUndefined();

    // New header rules for the video: rewritten in place with CopyObject, which gives it a plain MD5 ETag.
    const project = JSON.parse(readFileSync(join(ws.root, 'site/project.json'), 'utf8'));
    project.targets.deploy.options.headers = [
      { glob: 'media/**', headers: { 'Cache-Control': 'public, max-age=600' } },
    ];
    ws.write({ 'site/project.json': JSON.stringify(project) });
    const headers = await run(ws, 'deploy');
    expect(headers).toMatchObject({ uploaded: { files: 0 }, metadataUpdated: { files: 1 } });
    const head = JSON.parse(
      (await moto.cli(['s3api', 'head-object', '--bucket', bucket, '--key', 'media/intro.mp4'])).stdout,
    );
    expect(head).toMatchObject({ CacheControl: 'public, max-age=600' });
    expect(head.ETag).not.toMatch(/-\d+"$/);
    const after = await run(ws, 'deploy');
    expect(after).toMatchObject({ uploaded: { files: 0 }, metadataUpdated: { files: 0 } });

    ws.write({ 'dist/site/about/index.html': '<h1>About us</h1>' });
    rmSync(join(ws.root, 'dist/site/plus+sign.txt'));
    const { ['plus+sign.txt']: _removed, ...remaining } = files;
    const changed = await run(ws, 'deploy');
    expect(changed).toMatchObject({ uploaded: { files: 1 }, deleted: { files: 1 } });
    await expectBucketMatches(moto, bucket, { ...remaining, 'about/index.html': '<h1>About us</h1>' });

    const invalidation = await run(ws, 'invalidate');
    expect(invalidation.distributionId).toBe(distributionId);
    expect(invalidation.paths).toEqual(expect.arrayContaining(['/about/index.html', '/about/']));
    expect(invalidation.paths.some((p: string) => p.includes('sign.txt'))).toBe(true);
    const listed = await cloudfront.send(new ListInvalidationsCommand({ DistributionId: distributionId }));
    expect(listed.InvalidationList!.Items).toHaveLength(1);
    const got = await cloudfront.send(
      new GetInvalidationCommand({ DistributionId: distributionId, Id: listed.InvalidationList!.Items![0].Id }),
    );
    expect(got.Invalidation!.InvalidationBatch!.Paths!.Items!.sort()).toEqual([...invalidation.paths].sort());

    // Back to the release before the change, without a build: the snapshot copies hold its page and its deleted file.
    rmSync(join(ws.root, 'dist'), { recursive: true });
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [CLI, 'rollback', '--bucket', bucket, '--distribution-id', distributionId, '--json'],
      { env: { ...outsideEnv(), ...moto.env } },
    );
    const rolledBack = JSON.parse(stdout.trim().split('\n').pop()!);
    expect(rolledBack).toMatchObject({ to: 2, release: 4, restored: 2, deleted: 0 });
    await expectBucketMatches(moto, bucket, files);
    const restoredHead = JSON.parse(
      (await moto.cli(['s3api', 'head-object', '--bucket', bucket, '--key', 'about/index.html'])).stdout,
    );
    expect(restoredHead).toMatchObject({ ContentType: 'text/html; charset=utf-8', CacheControl: 'no-cache' });
    expect(rolledBack.invalidation.paths).toEqual(expect.arrayContaining(['/about/index.html', '/plus+sign.txt']));
    cloudfront.destroy();
  }, 240_000);

  it('in a versioned bucket: deploys take no snapshots, a rollback checks the recorded versions with one listing and copies them back, and promote copies an older release from its versions', async () => {
    const bucket = await newVersionedBucket(moto, 'moto-versioned');
    // More pages than a rollback checks one HEAD each: it lists the bucket's versions instead.
    const pages = (text: string) =>
      Object.fromEntries(Array.from({ length: 25 }, (_, i) => [`docs/${i}.html`, `<h1>${text} ${i}</h1>`]));
    const site = { ...SITE, ...pages('v1') };
    const ws = siteWorkspace({ bucket, sourceDir: 'dist/site' }, site);
    await ship(ws);
    ws.write(Object.fromEntries(Object.entries(pages('v2')).map(([path, text]) => [`dist/site/${path}`, text])));
    ws.write({ 'dist/site/about/index.html': '<h1>About us</h1>' });
    rmSync(join(ws.root, 'dist/site/plus+sign.txt'));
    expect(await ship(ws)).toMatchObject({ uploaded: { files: 26 }, deleted: { files: 1 } });
    const keys = JSON.parse((await moto.cli(['s3api', 'list-objects-v2', '--bucket', bucket])).stdout).Contents.map(
      (o: { Key: string }) => o.Key,
    );
    expect(keys.filter((k: string) => k.includes('releases/files/'))).toEqual([]);

    const { stdout } = await promisify(execFile)(process.execPath, [CLI, 'rollback', '--bucket', bucket, '--json'], {
      env: { ...outsideEnv(), ...moto.env },
    });
    const rolledBack = JSON.parse(stdout.trim().split('\n').pop()!);
    expect(rolledBack).toMatchObject({ to: 1, release: 3, restored: 27, requests: { ListObjectVersions: 1 } });
    expect(rolledBack.requests.HeadObject).toBeUndefined();
    await expectBucketMatches(moto, bucket, site);

    // Promote to a new bucket: release 2, whose pages are now only older versions here, then the live release.
    const prod = await newBucket(moto, 'moto-prod');
    const { ['plus+sign.txt']: _removed, ...unchanged } = site;
    const second = { ...unchanged, ...pages('v2'), 'about/index.html': '<h1>About us</h1>' };
    const promote = async (...args: string[]) => {
      const out = await promisify(execFile)(
        process.execPath,
        [CLI, 'promote', '--from-bucket', bucket, '--bucket', prod, '--json', ...args],
        { env: { ...outsideEnv(), ...moto.env } },
      );
      return JSON.parse(out.stdout.trim().split('\n').pop()!);
    };
    expect(await promote('--release', '2')).toMatchObject({
      promoted: 2,
      release: 1,
      copied: Object.keys(second).length,
    });
    await expectBucketMatches(moto, prod, second);
    expect(await promote()).toMatchObject({ promoted: 3, release: 2, copied: 27, deleted: 0 });
    await expectBucketMatches(moto, prod, site);
    const head = async (bucketName: string) =>
      JSON.parse((await moto.cli(['s3api', 'head-object', '--bucket', bucketName, '--key', 'docs/3.html'])).stdout);
    const [from, to] = await Promise.all([head(bucket), head(prod)]);
    expect({ type: to.ContentType, cache: to.CacheControl, etag: to.ETag }).toEqual({
      type: from.ContentType,
      cache: from.CacheControl,
      etag: from.ETag,
    });
  }, 240_000);
});
