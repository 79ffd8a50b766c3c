import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { motoInstalled, startLocalAws, startMoto, type LocalAwsHarness, type MotoHarness } from 'local-aws';
import { tempDir } from 'test-support';
import { createKeyValueStoreClient } from '../src/lib/aws/kvs-client';
import { readLiveRelease } from '../src/lib/releases/live-release';
import { listKeys, newBucket } from './bucket';
import { exec } from './codebuild';
import { CLI } from './site';
import { outsideEnv } from './workspace';

/**
 * Atomic releases with the bucket on moto's server, an S3 nobody here wrote (moto has no KeyValueStore: the store is
 * the local AWS's): the layout, only what changed sent, a rollback that is one write and touches no object, and an
 * in-place deploy that moves the site back, each checked with the aws CLI against moto.
 */
const installed = motoInstalled();
if (!installed) console.warn('moto_server is not installed: atomic releases against moto are SKIPPED.');

(installed ? describe : describe.skip)('atomic releases with the bucket on moto_server', () => {
  let moto: MotoHarness;
  let local: LocalAwsHarness;
  let storeArn: string;
  let bucket: string;
  const root = tempDir('atomic-moto-');
  beforeAll(async () => {
    [moto, local] = await Promise.all([startMoto(), startLocalAws()]);
    const created = await local.cli(['cloudfront', 'create-key-value-store', '--name', 'moto-releases']);
    storeArn = JSON.parse(created.stdout).KeyValueStore.ARN;
    bucket = await newBucket(moto, 'atomic');
  }, 60_000);
  afterAll(async () => {
    await moto?.stop();
    await local?.stop();
  });

  const V1 = {
    'index.html': '<script src="/assets/index-Ab12Cd34.js"></script><p>v1</p>',
    'assets/index-Ab12Cd34.js': 'main v1',
    'logo.png': 'PNG',
  };
  const V2 = {
    ...V1,
    'index.html': '<script src="/assets/index-Ef56Gh78.js"></script><p>v2</p>',
    'assets/index-Ef56Gh78.js': 'main v2',
  };

  /** The command, its S3 requests to moto and its KeyValueStore requests to the local AWS. */
  async function run(args: string[]) {
    await local.resetRequests();
    const result = await exec(process.execPath, [CLI, ...args], root, {
      ...outsideEnv(),
      ...moto.env,
      AWS_ENDPOINT_URL_CLOUDFRONT_KEYVALUESTORE: `http://localhost:${local.aws.port}`,
    });
    expect([result.code, result.stderr]).toEqual([0, expect.any(String)]);
    return { output: result.stdout, kvs: await local.requests() };
  }
  function deploy(files: Record<string, string>, inPlace = false, flags: string[] = []) {
    const site = join(root, 'dist');
    rmSync(site, { recursive: true, force: true });
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(dirname(join(site, path)), { recursive: true });
      writeFileSync(join(site, path), text);
    }
    const atomic = inPlace ? [] : ['--release-mode', 'atomic', '--key-value-store-arn', storeArn];
    return run(['deploy', '--source-dir', 'dist', '--bucket', bucket, '--project', 'web', ...atomic, ...flags]);
  }
  const site = async () => (await listKeys(moto, bucket)).filter((k) => !k.startsWith('.nx-aws-deploy/'));
  const live = async () => {
    const client = createKeyValueStoreClient();
    try {
      return (await readLiveRelease({ client, storeArn, site: 'web' }))?.live;
    } finally {
      client.destroy();
    }
  };
  const body = async (key: string) => (await moto.cli(['s3', 'cp', `s3://${bucket}/${key}`, '-'])).stdout;

  it('ships releases in their layout, only what changed, rolls back with one write and moves back in place', async () => {
    await deploy(V1);
    expect(await site()).toEqual(['_releases/1/index.html', '_releases/1/logo.png', 'assets/index-Ab12Cd34.js']);
    expect(await live()).toBe(1);

    const second = await deploy(V2);
    expect(second.output).toContain('as release 2: 2 to upload, 0 to update, 2 unchanged');
    expect((await site()).filter((k) => k.startsWith('_releases/2/'))).toEqual(['_releases/2/index.html']);
    expect(await body('_releases/2/index.html')).toBe(V2['index.html']);
    expect([second.kvs['cloudfront-keyvaluestore.UpdateKeys'], second.kvs['cloudfront-keyvaluestore.PutKey']]).toEqual([
      1, 1,
    ]);

    const keysBefore = await site();
    const back = await run(['rollback', '--bucket', bucket]);
    expect(back.output).toContain("serves release 1's files again, made live with one write");
    expect(await live()).toBe(1);
    expect(await site()).toEqual(keysBefore);

    await deploy(V2, true);
    expect(await live()).toBeUndefined();
    expect(await site()).toEqual(Object.keys(V2).sort());
    expect(await body('index.html')).toBe(V2['index.html']);
  }, 120_000);

  it("a pull request's preview: staged below _previews/, published, listed and removed, the site's files untouched", async () => {
    await deploy(V1);
    const siteBefore = await site();
    const staged = await deploy(V2, false, ['--preview', '3', '--stage-only']);
    expect(staged.kvs['cloudfront-keyvaluestore.PutKey']).toBeUndefined();
    const store = ['--bucket', bucket, '--key-value-store-arn', storeArn, '--site', 'web'];
    expect((await run(['preview', 'publish', 'pr-3', ...store, '--json'])).output).toBe('{"published":1}\n');
    const preview = (await listKeys(moto, bucket)).filter(
      (k) => k.startsWith('_previews/pr-3/') && !k.includes('.nx-aws-deploy/'),
    );
    expect(preview).toEqual([
      '_previews/pr-3/_releases/1/index.html',
      '_previews/pr-3/_releases/1/logo.png',
      '_previews/pr-3/assets/index-Ab12Cd34.js',
      '_previews/pr-3/assets/index-Ef56Gh78.js',
    ]);
    expect(await body('_previews/pr-3/_releases/1/index.html')).toBe(V2['index.html']);
    const listed = JSON.parse((await run(['previews', '--bucket', bucket, '--json'])).output);
    expect(listed).toEqual([expect.objectContaining({ name: 'pr-3', project: 'web', bucket })]);
    // A deploy of the site leaves the preview alone.
    await deploy(V1);
    expect((await listKeys(moto, bucket)).filter((k) => k.startsWith('_previews/pr-3/_releases/'))).toHaveLength(2);
    await run(['preview', 'remove', 'pr-3', ...store]);
    expect((await listKeys(moto, bucket)).filter((k) => k.startsWith('_previews/'))).toEqual([]);
    expect(await site()).toEqual(siteBefore);
  }, 120_000);
});
