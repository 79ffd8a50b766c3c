import { GetKeyCommand, ListKeysCommand } from '@aws-sdk/client-cloudfront-keyvaluestore';
import { startFaultProxy } from 'fault-proxy';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { edgeGet, startLocalAws, type LocalAwsHarness, type StackResult } from 'local-aws';
import { tempDir } from 'test-support';
import { createKeyValueStoreClient } from '../src/lib/aws/kvs-client';
import { readLiveRelease } from '../src/lib/releases/live-release';
import { listKeys } from './bucket';
import { exec } from './codebuild';
import { deployRouterStack } from './release-router-stack';
import { CLI } from './site';
import { outsideEnv } from './workspace';

/**
 * `deploy --release-mode atomic` on the local AWS, served by the release router at the local edge: content-hashed
 * files shared at their own keys, every other one in the folder of the first release that had its bytes, which the
 * file index in the KeyValueStore names; only what changed is sent, nothing is copied; nothing a visitor is served
 * changes until the one write of the live release, which the edge sees once it has propagated; no invalidation; a
 * tab's lazy chunk of the previous release still loads; a build equal to the live release writes nothing at all.
 */
const PROPAGATION_MS = 500;
const BUCKET = 'atomic-site';
let local: LocalAwsHarness;
let stack: StackResult;
let root: string;

beforeAll(async () => {
  local = await startLocalAws({ kvsPropagationMs: PROPAGATION_MS });
  stack = await deployRouterStack(local, BUCKET, [{ name: 'Web', site: 'web', storybook: false }]);
  root = tempDir('atomic-');
});
afterAll(() => local?.stop());

const page = (asset: string, text: string) => `<!doctype html><script src="/assets/${asset}"></script><p>${text}</p>`;
const V1 = {
  'index.html': page('index-Ab12Cd34.js', 'home v1'),
  'about/index.html': '<p>about</p>',
  'assets/index-Ab12Cd34.js': 'import("./lazy-Zz98Yy76.js")',
  'assets/lazy-Zz98Yy76.js': 'export const lazy = 1',
  'logo.png': 'PNG',
  'robots.txt': 'User-agent: *',
};
// v2 changes the home page and its entry chunk, drops the lazy chunk; about, logo and robots stay as they were.
const { ['assets/lazy-Zz98Yy76.js']: _dropped, ['assets/index-Ab12Cd34.js']: _replaced, ...KEPT } = V1;
const V2 = { ...KEPT, 'index.html': page('index-Ef56Gh78.js', 'home v2'), 'assets/index-Ef56Gh78.js': 'main v2' };
const V3 = { ...V2, 'index.html': page('index-Ef56Gh78.js', 'home v3') };

/** The build `files` in root/dist, as a build writes them. */
function writeBuild(files: Record<string, string>): void {
  const site = join(root, 'dist');
  rmSync(site, { recursive: true, force: true });
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(site, path)), { recursive: true });
    writeFileSync(join(site, path), text);
  }
}

/** The build `files`, deployed atomically (or, `inPlace`, as before) through the local AWS. */
async function deploy(
  files: Record<string, string>,
  { inPlace = false, flags = [] as string[], env = {} as Record<string, string>, code = 0 } = {},
) {
  writeBuild(files);
  await local.resetRequests();
  const args = ['deploy', '--source-dir', 'dist', '--bucket', BUCKET, '--project', 'web'];
  const atomic = inPlace ? [] : ['--release-mode', 'atomic', '--key-value-store-arn', stack.outputs.KeyValueStoreArn];
  const run = await exec(process.execPath, [CLI, ...args, ...atomic, ...flags], root, {
    ...outsideEnv(),
    ...local.env,
    ...env,
  });
  expect([run.code, run.stderr]).toEqual([code, expect.any(String)]);
  const requests = await local.requests();
  // Writes of the site's files: the deploy's own bookkeeping (lease, state, release) is counted apart.
  const siteWrites = (await local.requestLog())
    .filter((r) => /PutObject|CopyObject/.test(r.operation) && !r.path.includes('/.nx-aws-deploy/'))
    .map((r) => `${r.operation} ${r.path.slice(BUCKET.length + 2)}`)
    .sort();
  return { output: run.stdout, errors: run.stderr, requests, siteWrites };
}

const live = async () => {
  const client = createKeyValueStoreClient();
  try {
    return (await readLiveRelease({ client, storeArn: stack.outputs.KeyValueStoreArn, site: 'web' }))?.live;
  } finally {
    client.destroy();
  }
};
const served = async (path: string) =>
  (await edgeGet(local.aws, stack.outputs.WebDistributionId, path)).body.toString();
const settle = () => new Promise((resolve) => setTimeout(resolve, PROPAGATION_MS + 50));

it('the first release: its own files below _releases/1/, the content-hashed ones shared; live with one write, no invalidation', async () => {
  const { requests } = await deploy(V1);
  expect(await live()).toBe(1);
  // The file index of its four files without a content hash (one request), then the switch.
  expect(requests['cloudfront-keyvaluestore.UpdateKeys']).toBe(1);
  expect(requests['cloudfront-keyvaluestore.PutKey']).toBe(1);
  expect(requests['cloudfront.CreateInvalidation']).toBeUndefined();
  const keys = (await listKeys(local, BUCKET)).filter((k) => !k.startsWith('.nx-aws-deploy/'));
  expect(keys).toEqual([
    '_releases/1/about/index.html',
    '_releases/1/index.html',
    '_releases/1/logo.png',
    '_releases/1/robots.txt',
    'assets/index-Ab12Cd34.js',
    'assets/lazy-Zz98Yy76.js',
  ]);
  await settle();
  expect(await served('/')).toBe(V1['index.html']);
  expect(await served('/about/')).toBe('<p>about</p>');
  expect(await served('/pricing')).toBe(V1['index.html']);
});

it('the next release sends only what changed, copies nothing, and goes live everywhere only once propagated', async () => {
  const { requests, output, siteWrites } = await deploy(V2);
  expect(output).toContain('as release 2: 2 to upload, 0 to update, 3 unchanged');
  // The new page and its chunk sent; about, logo and robots stay in release 1's folder; the page's index entry,
  // then one write to go live.
  expect(siteWrites).toEqual(['s3.PutObject _releases/2/index.html', 's3.PutObject assets/index-Ef56Gh78.js']);
  expect(requests['cloudfront-keyvaluestore.UpdateKeys']).toBe(1);
  expect(requests['cloudfront-keyvaluestore.PutKey']).toBe(1);
  expect(requests['cloudfront.CreateInvalidation']).toBeUndefined();
  expect(await live()).toBe(2);
  // The API says 2 at once; the edges serve 1 until the write reaches them, then 2.
  expect(await served('/')).toBe(V1['index.html']);
  await settle();
  expect(await served('/')).toBe(V2['index.html']);
  expect(await served('/assets/index-Ef56Gh78.js')).toBe('main v2');
  // A tab opened on release 1 still loads its lazy chunk, which release 2 no longer has.
  expect(await served('/assets/lazy-Zz98Yy76.js')).toBe('export const lazy = 1');
  const keys = await listKeys(local, BUCKET);
  expect(keys.filter((k) => k.startsWith('_releases/2/'))).toEqual(['_releases/2/index.html']);
  expect(keys.filter((k) => k.startsWith('_releases/1/'))).toHaveLength(4);
});

it('a build equal to the live release writes nothing: no file, no copy, no switch', async () => {
  const { requests, siteWrites } = await deploy(V2);
  expect(siteWrites).toEqual([]);
  expect(requests['cloudfront-keyvaluestore.PutKey']).toBeUndefined();
  expect(requests['cloudfront-keyvaluestore.UpdateKeys']).toBeUndefined();
  expect(await live()).toBe(2);
});

it('a rollback to a release whose files are gone is refused, saying so, and changes nothing', async () => {
  const folder = `s3://${BUCKET}/_releases/1/`;
  await local.cli(['s3', 'mv', folder, `s3://${BUCKET}/aside/`, '--recursive']);
  try {
    const run = await exec(process.execPath, [CLI, 'rollback', '--bucket', BUCKET], root, {
      ...outsideEnv(),
      ...local.env,
    });
    expect([run.code, run.stderr]).toEqual([
      1,
      expect.stringContaining(`The files of release 1 are gone from s3://${BUCKET}/_releases/ (_releases/1/`),
    ]);
    expect(await live()).toBe(2);
  } finally {
    await local.cli(['s3', 'mv', `s3://${BUCKET}/aside/`, folder, '--recursive']);
  }
});

it("a rollback is one write: the previous release's folder is live again, nothing copied, nothing invalidated", async () => {
  await local.resetRequests();
  const run = await exec(process.execPath, [CLI, 'rollback', '--bucket', BUCKET], root, {
    ...outsideEnv(),
    ...local.env,
  });
  expect([run.code, run.stdout]).toEqual([
    0,
    expect.stringContaining("serves release 1's files again, made live with one write"),
  ]);
  const requests = await local.requests();
  expect([
    requests['cloudfront-keyvaluestore.PutKey'],
    requests['s3.CopyObject'],
    requests['cloudfront.CreateInvalidation'],
  ]).toEqual([1, undefined, undefined]);
  expect(await live()).toBe(1);
  await settle();
  expect(await served('/')).toBe(V1['index.html']);
  const releases = await exec(process.execPath, [CLI, 'releases', '--bucket', BUCKET], root, {
    ...outsideEnv(),
    ...local.env,
  });
  expect(releases.stdout).toContain(
    `(atomic: live through "web" in ${stack.outputs.KeyValueStoreArn}, a rollback is one write of it;`,
  );
});

it('a release of bytes an earlier one had is only the switch; retention deletes what no kept release has, never the live one; --wait-until-served returns once the edge serves the release', async () => {
  // Release 3 was the rollback to release 1; release 4 is release 2's build again: its page is in release 2's folder.
  const url = local.aws.edgeUrl(stack.outputs.WebDistributionId);
  const flags = ['--keep-releases', '1', '--skew-protection-hours', '0'];
  const again = await deploy(V2, { flags: [...flags, '--wait-until-served', '--site-url', url] });
  expect(again.siteWrites).toEqual([]);
  expect(again.requests['cloudfront-keyvaluestore.UpdateKeys']).toBeUndefined();
  expect(await live()).toBe(4);
  // --wait-until-served returned once the edge served the release: no settling needed.
  expect(again.output).toMatch(
    new RegExp(`Release 4 is served at ${url}/, (0\\.[5-9]|[1-9]\\d*\\.\\d) s after the switch\\.`),
  );
  expect(await served('/')).toBe(V2['index.html']);
  // Release 5, keeping one: release 4 stays (live until now), release 1's page goes, its other files stay (in use).
  await deploy(V3, { flags });
  expect((await listKeys(local, BUCKET)).filter((k) => k.startsWith('_releases/'))).toEqual([
    '_releases/1/about/index.html',
    '_releases/1/logo.png',
    '_releases/1/robots.txt',
    '_releases/2/index.html',
    '_releases/5/index.html',
  ]);
  await settle();
  expect(await served('/')).toBe(V3['index.html']);
  expect(await served('/about/')).toBe('<p>about</p>');
});

it("promote copies an atomic release's bytes, from the folders that hold them, to a site deployed in place", async () => {
  await local.cli(['s3', 'mb', 's3://atomic-prod']);
  const run = await exec(process.execPath, [CLI, 'promote', '--from-bucket', BUCKET, '--bucket', 'atomic-prod'], root, {
    ...outsideEnv(),
    ...local.env,
  });
  expect([run.code, run.stderr]).toEqual([0, expect.any(String)]);
  const keys = (await listKeys(local, 'atomic-prod')).filter((k) => !k.startsWith('.nx-aws-deploy/'));
  expect(keys).toEqual(Object.keys(V3).sort());
  const home = await local.cli(['s3', 'cp', 's3://atomic-prod/index.html', '-']);
  expect(home.stdout).toBe(V3['index.html']);
});

it('a deploy stopped between its file index and the switch changes nothing served; the next release writes those keys again', async () => {
  const index = async (path: string) => {
    const client = createKeyValueStoreClient();
    try {
      const KvsARN = stack.outputs.KeyValueStoreArn;
      return (await client.send(new GetKeyCommand({ KvsARN, Key: `web/${path}` })).catch(() => undefined))?.Value;
    } finally {
      client.destroy();
    }
  };
  const before = await index('about/index.html');
  // Every PutKey (the switch) fails before it reaches the store; the index's UpdateKeys go through.
  const proxy = await startFaultProxy({
    target: local.aws.url,
    rate: 1,
    operations: ['PutKey'],
    kinds: ['internal-error'],
  });
  try {
    const kvsEndpoint = proxy.url.replace('127.0.0.1', 'localhost');
    const V4 = { ...V3, 'about/index.html': '<p>about v4</p>', 'new.html': '<p>new</p>' };
    const failed = await deploy(V4, { env: { AWS_ENDPOINT_URL_CLOUDFRONT_KEYVALUESTORE: kvsEndpoint }, code: 1 });
    expect(failed.errors).toContain('cloudfront-keyvaluestore:PutKey');
  } finally {
    await proxy.stop();
  }
  expect(await live()).toBe(5);
  expect(await index('about/index.html')).toBe(`${before} 6`);
  expect(await index('new.html')).toBe('6');
  await settle();
  expect(await served('/about/')).toBe('<p>about</p>');
  // The live release's build again: nothing to do (what release 6 wrote is numbered after the live one).
  expect((await deploy(V3)).siteWrites).toEqual([]);
  expect(await live()).toBe(5);
  // The next release takes number 6 and writes the keys the stopped deploy left, as its build has them.
  await deploy(V2);
  expect(await live()).toBe(6);
  expect([await index('about/index.html'), await index('new.html')]).toEqual([before, undefined]);
  await settle();
  expect([await served('/'), await served('/about/')]).toEqual([V2['index.html'], '<p>about</p>']);
});

it('promote into a site of atomic releases: its layout and file index, one write to go live, then only what differs', async () => {
  const prod = await deployRouterStack(local, 'atomic-prod-site', [{ name: 'Prod', site: 'web', storybook: false }]);
  const promote = async () => {
    await local.resetRequests();
    const args = ['promote', '--from-bucket', BUCKET, '--bucket', 'atomic-prod-site'];
    const atomic = ['--release-mode', 'atomic', '--key-value-store-arn', prod.outputs.KeyValueStoreArn];
    const run = await exec(process.execPath, [CLI, ...args, ...atomic], root, { ...outsideEnv(), ...local.env });
    expect([run.code, run.stderr]).toEqual([0, expect.any(String)]);
    return { output: run.stdout, requests: await local.requests() };
  };
  const servedByProd = async (path: string) =>
    (await edgeGet(local.aws, prod.outputs.ProdDistributionId, path)).body.toString();
  const first = await promote();
  expect(first.output).toContain('made live with one write of "web"');
  expect(first.requests['cloudfront.CreateInvalidation']).toBeUndefined();
  expect((await listKeys(local, 'atomic-prod-site')).filter((k) => !k.startsWith('.nx-aws-deploy/'))).toEqual([
    '_releases/1/about/index.html',
    '_releases/1/index.html',
    '_releases/1/logo.png',
    '_releases/1/robots.txt',
    'assets/index-Ef56Gh78.js',
  ]);
  await settle();
  expect(await servedByProd('/')).toBe(V2['index.html']);
  // Staging's next release changes the home page: promoted, only that page is copied, into prod's release 2.
  await deploy(V3);
  const second = await promote();
  expect(second.requests['s3.CopyObject']).toBe(1);
  expect([
    second.requests['cloudfront-keyvaluestore.UpdateKeys'],
    second.requests['cloudfront-keyvaluestore.PutKey'],
  ]).toEqual([1, 1]);
  expect((await listKeys(local, 'atomic-prod-site')).filter((k) => k.startsWith('_releases/2/'))).toEqual([
    '_releases/2/index.html',
  ]);
  await settle();
  expect([await servedByProd('/'), await servedByProd('/about/')]).toEqual([V3['index.html'], '<p>about</p>']);
  // An atomic site is not promoted into as if it were in place.
  const inPlace = await exec(
    process.execPath,
    [CLI, 'promote', '--from-bucket', BUCKET, '--bucket', 'atomic-prod-site'],
    root,
    {
      ...outsideEnv(),
      ...local.env,
    },
  );
  expect([inPlace.code, inPlace.stderr]).toEqual([
    1,
    expect.stringContaining('The live release of s3://atomic-prod-site/ is atomic'),
  ]);
});

it('a page pins its release in a cookie: the unhashed files it names come from that release after the next goes live, while it is kept', async () => {
  const edgeHas = async (path: string, cookie?: string) => {
    const response = await edgeGet(local.aws, stack.outputs.WebDistributionId, path, cookie ? { cookie } : {});
    return { body: response.body.toString(), pin: response.headers.getSetCookie() };
  };
  await settle();
  const page = await edgeHas('/');
  const live = page.pin[0].split(';')[0];
  expect(page.pin).toEqual([`${live}; Path=/; HttpOnly; SameSite=Lax`]);
  expect(live).toMatch(/^nxad-release-web=\d+$/);
  // Files other than pages set no pin.
  expect((await edgeHas('/logo.png')).pin).toEqual([]);
  // The next release changes the logo, under the same name.
  await deploy({ ...V3, 'logo.png': 'PNG v8' });
  await settle();
  expect(await edgeHas('/logo.png', live)).toEqual({ body: 'PNG', pin: [] });
  expect((await edgeHas('/logo.png')).body).toBe('PNG v8');
  // A page is always the live release's, and moves the pin on; a release not kept (99, never made) pins nothing.
  expect((await edgeHas('/', live)).pin[0]).not.toContain(`${live};`);
  expect((await edgeHas('/logo.png', 'nxad-release-web=99')).body).toBe('PNG v8');
});

it('a KeyValueStore that accepts and never answers: the deploy ends, naming the call and the endpoint, nothing changed', async () => {
  const proxy = await startFaultProxy({ target: local.aws.url, rate: 1, operations: ['GetKey'], kinds: ['hang'] });
  try {
    const kvsEndpoint = proxy.url.replace('127.0.0.1', 'localhost');
    const before = await live();
    const hung = await deploy(V2, {
      env: { AWS_ENDPOINT_URL_CLOUDFRONT_KEYVALUESTORE: kvsEndpoint },
      flags: ['--request-timeout', '1'],
      code: 1,
    });
    expect(hung.errors).toMatch(
      new RegExp(
        `cloudfront-keyvaluestore:GetKey on \\S+: no answer from ${kvsEndpoint} in \\d attempts, each aborted when it stalled`,
      ),
    );
    expect(hung.siteWrites).toEqual([]);
    expect(await live()).toBe(before);
  } finally {
    await proxy.stop();
  }
});

it('SIGTERM while the file index is written: it stops before the switch, saying so, the live release as it was; a re-run makes it live', async () => {
  const before = await live();
  let sent = false;
  let child: ChildProcess | undefined;
  let output = '';
  // The index's first write waits until the deploy has taken the signal in: then it must not switch.
  const signalled = () =>
    new Promise<void>((resolve) => {
      const until = Date.now() + 10_000;
      const check = () =>
        output.includes('SIGTERM received') || Date.now() > until ? resolve() : setTimeout(check, 20);
      check();
    });
  const proxy = await startFaultProxy({
    target: local.aws.url,
    rate: 0,
    onRequest: (info) => {
      if (sent || info.operation !== 'UpdateKeys') return;
      sent = true;
      child!.kill('SIGTERM');
      return signalled();
    },
  });
  const V9 = { ...V3, 'about/index.html': '<p>about v9</p>' };
  writeBuild(V9);
  try {
    child = spawn(
      process.execPath,
      [CLI, 'deploy', '--source-dir', 'dist', '--bucket', BUCKET, '--project', 'web'].concat([
        '--release-mode',
        'atomic',
        '--key-value-store-arn',
        stack.outputs.KeyValueStoreArn,
      ]),
      {
        cwd: root,
        env: {
          ...outsideEnv(),
          ...local.env,
          AWS_ENDPOINT_URL_CLOUDFRONT_KEYVALUESTORE: proxy.url.replace('127.0.0.1', 'localhost'),
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    child.stdout!.on('data', (d) => (output += d));
    child.stderr!.on('data', (d) => (output += d));
    const [code] = await once(child, 'close');
    expect([sent, code, output]).toEqual([
      true,
      143,
      expect.stringMatching(/Interrupted by SIGTERM before release \d+ went live: the live release is as it was/),
    ]);
  } finally {
    await proxy.stop();
  }
  expect(await live()).toBe(before);
  await settle();
  expect(await served('/about/')).toBe('<p>about</p>');
  await deploy(V9);
  expect(await live()).toBe(before! + 1);
  await settle();
  expect(await served('/about/')).toBe('<p>about v9</p>');
});

it('one in-place deploy moves the site back: every file at its own key, the key and the file index out of the store, the release folders gone', async () => {
  const { output } = await deploy(V2, { inPlace: true });
  expect(output).toContain('The site is deployed in place again: "web" left');
  expect(await live()).toBeUndefined();
  const client = createKeyValueStoreClient();
  try {
    expect(
      (await client.send(new ListKeysCommand({ KvsARN: stack.outputs.KeyValueStoreArn }))).Items?.map((i) => i.Key),
    ).toEqual([]);
  } finally {
    client.destroy();
  }
  const keys = (await listKeys(local, BUCKET)).filter((k) => !k.startsWith('.nx-aws-deploy/'));
  expect(keys).toEqual(Object.keys(V2).sort());
  await settle();
  expect(await served('/')).toBe(V2['index.html']);
  expect(await served('/about/')).toBe('<p>about</p>');
});
