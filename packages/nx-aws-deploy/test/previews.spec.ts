import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { edgeGet, previewGet, startLocalAws, type LocalAwsHarness, type StackResult } from 'local-aws';
import { tempDir } from 'test-support';
import { launchChromium } from 'test-support/browser';
import { GetKeyCommand, ListKeysCommand } from '@aws-sdk/client-cloudfront-keyvaluestore';
import { createKeyValueStoreClient } from '../src/lib/aws/kvs-client';
import { listKeys } from './bucket';
import { exec, writeFiles } from './codebuild';
import { deployRouterStack } from './release-router-stack';
import { CLI } from './site';
import { outsideEnv } from './workspace';

/**
 * Pull-request previews on the local AWS, served by the release router at the local edge on the preview's host
 * (`pr-<n>--<distribution>.cloudfront.localhost`, the local form of `pr-<n>.<previewDomain>`): a preview is an
 * atomic release of its own below _previews/pr-<n>/, production never serves it nor shares a cache key with it,
 * a host of a pull request without a preview serves production, previews answer noindex, a password asks for
 * basic auth on preview hosts only, removal takes its keys and files away, idle previews go with the next deploy,
 * and the number of previews is bounded. Checked with the aws CLI where it can see (the bucket, the store's keys).
 */
const PROPAGATION_MS = 200;
const BUCKET = 'preview-site';
let local: LocalAwsHarness;
let stack: StackResult;
let root: string;
let distribution: string;

beforeAll(async () => {
  local = await startLocalAws({ kvsPropagationMs: PROPAGATION_MS });
  stack = await deployRouterStack(local, BUCKET, [{ name: 'Web', site: 'web', storybook: false, previews: true }]);
  distribution = stack.outputs.WebDistributionId;
  root = tempDir('previews-');
});
afterAll(() => local?.stop());

const page = (asset: string, text: string) => `<!doctype html><script src="/assets/${asset}"></script><p>${text}</p>`;
const MAIN = {
  'index.html': page('index-Ab12Cd34.js', 'main'),
  'assets/index-Ab12Cd34.js': 'main()',
  'logo.png': 'PNG',
};
const PR = { ...MAIN, 'index.html': page('index-Ef56Gh78.js', 'pr 7'), 'assets/index-Ef56Gh78.js': 'pr()' };
const PR_UPDATED = { ...PR, 'index.html': page('index-Ef56Gh78.js', 'pr 7, second push') };

async function run(args: string[], { code = 0, input }: { code?: number; input?: string } = {}) {
  const result = await exec(process.execPath, [CLI, ...args], root, { ...outsideEnv(), ...local.env }, input);
  expect([result.code, result.stderr]).toEqual([code, expect.any(String)]);
  return result;
}

/** The build `files`, deployed as the site or (`preview`) as a pull request's preview. */
async function deploy(files: Record<string, string>, flags: string[] = [], code = 0) {
  rmSync(join(root, 'dist'), { recursive: true, force: true });
  writeFiles(join(root, 'dist'), files);
  await local.resetRequests();
  const store = ['--release-mode', 'atomic', '--key-value-store-arn', stack.outputs.KeyValueStoreArn];
  return run(['deploy', '--source-dir', 'dist', '--bucket', BUCKET, '--project', 'web', ...store, ...flags], { code });
}

const previewDomain = () => `--${new URL(local.aws.edgeUrl(distribution)).host}`;
const asPreview = (n: number) => ['--preview', String(n), '--preview-domain', `http://${previewDomain()}`];
const settle = () => new Promise((resolve) => setTimeout(resolve, PROPAGATION_MS + 50));
const site = (path: string) => edgeGet(local.aws, distribution, path);
const preview = (n: number, path: string, headers: Record<string, string> = {}) =>
  previewGet(local.aws, distribution, `pr-${n}`, path, headers);
const text = async (answer: Promise<{ status: number; body: Buffer }>) => {
  const { status, body } = await answer;
  return `${status} ${body.toString()}`;
};
const storeKeys = async (): Promise<string[]> => {
  const client = createKeyValueStoreClient();
  try {
    const { Items } = await client.send(new ListKeysCommand({ KvsARN: stack.outputs.KeyValueStoreArn }));
    return (Items ?? []).map((i) => i.Key!).sort();
  } finally {
    client.destroy();
  }
};
const storeValue = async (key: string) => {
  const client = createKeyValueStoreClient();
  try {
    return (await client.send(new GetKeyCommand({ KvsARN: stack.outputs.KeyValueStoreArn, Key: key }))).Value;
  } finally {
    client.destroy();
  }
};

it('opening: the preview is served on its host from its own folder; production, its cache and its store key are unchanged', async () => {
  await deploy(MAIN);
  await settle();
  expect(await text(site('/'))).toBe(`200 ${MAIN['index.html']}`);

  const opened = await deploy(PR, asPreview(7));
  const url = `http://pr-7${previewDomain()}/`;
  expect(opened.stdout).toContain(`preview: ${url}`);
  const keys = await listKeys(local, BUCKET);
  expect(keys.filter((k) => k.startsWith('_previews/pr-7/') && !k.includes('.nx-aws-deploy/'))).toEqual([
    '_previews/pr-7/_releases/1/index.html',
    '_previews/pr-7/_releases/1/logo.png',
    '_previews/pr-7/assets/index-Ab12Cd34.js',
    '_previews/pr-7/assets/index-Ef56Gh78.js',
  ]);
  expect(await storeKeys()).toEqual([
    'web',
    'web/index.html',
    'web/logo.png',
    'web@pr-7',
    'web@pr-7/index.html',
    'web@pr-7/logo.png',
  ]);
  await settle();

  const served = await preview(7, '/');
  expect(`${served.status} ${served.body}`).toBe(`200 ${PR['index.html']}`);
  expect(served.headers.get('x-robots-tag')).toBe('noindex');
  expect(served.headers.get('set-cookie')).toContain('nxad-release-web-pr-7=1');
  expect(await text(preview(7, '/assets/index-Ef56Gh78.js'))).toBe('200 pr()');
  expect(await text(preview(7, '/some/route'))).toBe(`200 ${PR['index.html']}`);
  // Production: its own page (the same URI, another cache key), no noindex, none of the preview's files.
  const production = await site('/');
  expect(`${production.status} ${production.body}`).toBe(`200 ${MAIN['index.html']}`);
  expect(production.headers.get('x-robots-tag')).toBeNull();
  expect((await site('/assets/index-Ef56Gh78.js')).status).toBe(403);
  expect((await site('/_previews/pr-7/assets/index-Ef56Gh78.js')).status).toBe(404);
  expect((await site('/_previews/pr-7/_releases/1/index.html')).status).toBe(404);
  // A pull request that did not change this app: its host serves production, still marked noindex.
  const other = await preview(8, '/');
  expect(`${other.status} ${other.body}`).toBe(`200 ${MAIN['index.html']}`);
  expect(other.headers.get('x-robots-tag')).toBe('noindex');
});

it('updating: a second push sends only what changed into the preview; a deploy of the site leaves the preview alone', async () => {
  const updated = await deploy(PR_UPDATED, asPreview(7));
  expect(updated.stdout).toContain('as release 2: 1 to upload, 0 to update, 3 unchanged');
  const site2 = { ...MAIN, 'robots.txt': 'User-agent: *' };
  const deployed = await deploy(site2);
  expect(deployed.stdout).toContain('left alone:');
  await settle();
  expect(await text(preview(7, '/'))).toBe(`200 ${PR_UPDATED['index.html']}`);
  expect(await text(site('/robots.txt'))).toBe('200 User-agent: *');
  expect((await preview(7, '/robots.txt')).status).toBe(403);
});

it('listing: each preview with its app, commit, files and size, as a table and as JSON', async () => {
  const table = await run(['previews', '--bucket', BUCKET]);
  expect(table.stdout).toMatch(/^preview +app +commit +deployed +age +files +size$/m);
  expect(table.stdout).toMatch(/^pr-7 +web +- +\S+ \S+ +\d+ min +\d+ +[\d.]+ \w?B$/m);
  const listed = JSON.parse((await run(['previews', '--bucket', BUCKET, '--json'])).stdout);
  expect(listed).toEqual([
    expect.objectContaining({ name: 'pr-7', project: 'web', bucket: BUCKET, prefix: '', objects: expect.any(Number) }),
  ]);
});

it('a password: preview hosts ask for basic auth and take only that password; production does not ask', async () => {
  const store = ['--key-value-store-arn', stack.outputs.KeyValueStoreArn, '--site', 'web'];
  await run(['preview', 'password', ...store], { input: 's3cret\n' });
  expect(JSON.parse((await storeValue('web@password'))!)).toEqual({
    salt: expect.stringMatching(/^[0-9a-f]{32}$/),
    sha256: expect.stringMatching(/^[0-9a-f]{64}$/),
  });
  await settle();
  const basic = (password: string) => ({
    authorization: `Basic ${Buffer.from(`reviewer:${password}`).toString('base64')}`,
  });
  const refused = await preview(7, '/');
  expect([refused.status, refused.headers.get('www-authenticate')]).toEqual([
    401,
    'Basic realm="Preview", charset="UTF-8"',
  ]);
  expect((await preview(7, '/', basic('wrong'))).status).toBe(401);
  expect(await text(preview(7, '/', basic('s3cret')))).toBe(`200 ${PR_UPDATED['index.html']}`);
  expect((await site('/')).status).toBe(200);
  await checkInBrowser(`http://pr-7${previewDomain()}/`);
  await run(['preview', 'password', ...store], { input: '' });
  await settle();
  expect((await preview(7, '/')).status).toBe(200);
});

it('the limit: a new preview beyond "maxPreviews" is refused, naming the previews; nothing is written', async () => {
  const refused = await deploy(PR, [...asPreview(9), '--max-previews', '1'], 1);
  expect(refused.stderr).toContain(
    `s3://${BUCKET}/ has 1 previews (pr-7), the most "maxPreviews" allows (1): remove one (nx-aws-deploy preview remove pr-<n>)`,
  );
  expect((await listKeys(local, BUCKET)).filter((k) => k.startsWith('_previews/pr-9/'))).toEqual([]);
});

it('idle previews are removed by the next deploy; "preview remove" takes the keys first, then every file', async () => {
  await deploy(PR, asPreview(9));
  // pr-9's last deploy as if 15 days ago: the next deploy of the site removes it, not pr-7.
  const index = `s3://${BUCKET}/_previews/pr-9/.nx-aws-deploy/releases/index.json`;
  const { stdout } = await local.cli(['s3', 'cp', index, '-']);
  const old = JSON.parse(stdout);
  old.releases[0].at = new Date(Date.now() - 15 * 86_400_000).toISOString();
  writeFileSync(join(root, 'index.json'), JSON.stringify(old));
  await local.cli(['s3', 'cp', join(root, 'index.json'), index]);
  const next = await deploy(MAIN);
  expect(next.stdout).toMatch(
    /Removed preview pr-9, deployed last at .*, idle for more than 14 days \("previewTtlDays"\)/,
  );
  expect((await listKeys(local, BUCKET)).filter((k) => k.startsWith('_previews/pr-9/'))).toEqual([]);
  expect((await storeKeys()).filter((k) => k.startsWith('web@pr-9'))).toEqual([]);

  const store = ['--key-value-store-arn', stack.outputs.KeyValueStoreArn, '--site', 'web'];
  const removed = await run(['preview', 'remove', 'pr-7', '--bucket', BUCKET, ...store]);
  expect(removed.stderr).toMatch(
    /Removed preview pr-7 \(release 2 was live\): 3 key\(s\) of the store, \d+ object\(s\)\./,
  );
  expect((await listKeys(local, BUCKET)).filter((k) => k.startsWith('_previews/'))).toEqual([]);
  expect(await storeKeys()).toEqual(['web', 'web/index.html', 'web/logo.png', 'web/robots.txt']);
  await settle();
  expect(await text(preview(7, '/'))).toBe(`200 ${MAIN['index.html']}`);
  expect(await text(site('/'))).toBe(`200 ${MAIN['index.html']}`);
  expect((await run(['previews', '--bucket', BUCKET])).stdout).toContain('No previews');
});

it("staged: --stage-only writes no key of the store; publish writes the preview's own keys; a record tampered with is refused", async () => {
  const store = ['--key-value-store-arn', stack.outputs.KeyValueStoreArn, '--site', 'web'];
  const before = await storeKeys();
  const staged = await deploy(PR, [...asPreview(11), '--stage-only']);
  expect(staged.stdout).toContain('Release 1 is staged for "web@pr-11"');
  expect(staged.stdout).toContain('release: 1 is staged as preview pr-11');
  expect((await local.requests())['cloudfront-keyvaluestore.PutKey']).toBeUndefined();
  expect((await local.requests())['cloudfront-keyvaluestore.UpdateKeys']).toBeUndefined();
  expect(await storeKeys()).toEqual(before);
  await settle();
  expect(await text(preview(11, '/'))).toBe(`200 ${MAIN['index.html']}`);

  const published = await run(['preview', 'publish', 'pr-11', '--bucket', BUCKET, ...store, '--json']);
  expect(JSON.parse(published.stdout)).toEqual({ published: 1 });
  expect((await storeKeys()).filter((k) => k.startsWith('web@pr-11'))).toEqual([
    'web@pr-11',
    'web@pr-11/index.html',
    'web@pr-11/logo.png',
  ]);
  await settle();
  expect(await text(preview(11, '/'))).toBe(`200 ${PR['index.html']}`);
  expect(
    JSON.parse((await run(['preview', 'publish', 'pr-11', '--bucket', BUCKET, ...store, '--json'])).stdout),
  ).toEqual({
    nothing: 'release 1 is live already',
  });

  // The next staged release, its record changed by the build that wrote it (the pull request's code could).
  await deploy(PR_UPDATED, [...asPreview(11), '--stage-only']);
  const recordKey = `s3://${BUCKET}/_previews/pr-11/.nx-aws-deploy/file-index.json`;
  const record = JSON.parse((await local.cli(['s3', 'cp', recordKey, '-'])).stdout);
  const tampered = async (change: (r: any) => void, message: string) => {
    const copy = structuredClone(record);
    change(copy);
    writeFileSync(join(root, 'record.json'), JSON.stringify(copy));
    await local.cli(['s3', 'cp', join(root, 'record.json'), recordKey]);
    const refused = await run(['preview', 'publish', 'pr-11', '--bucket', BUCKET, ...store], { code: 1 });
    expect(refused.stderr).toContain(message);
  };
  const keysBefore = await storeKeys();
  await tampered((r) => (r.site = 'web'), 'it is staged for "web", not "web@pr-11"');
  await tampered(
    (r) => r.writing.puts.push({ path: 'index.html', value: '{"live":1}' }),
    'the entry of "index.html" is not a file index value',
  );
  await tampered((r) => (r.staged.live = 9), 'its release numbers are not those of one release');
  expect(await storeKeys()).toEqual(keysBefore);
  writeFileSync(join(root, 'record.json'), JSON.stringify(record));
  await local.cli(['s3', 'cp', join(root, 'record.json'), recordKey]);
  expect(
    JSON.parse((await run(['preview', 'publish', 'pr-11', '--bucket', BUCKET, ...store, '--json'])).stdout),
  ).toEqual({
    published: 2,
    previous: 1,
  });
  await settle();
  expect(await text(preview(11, '/'))).toBe(`200 ${PR_UPDATED['index.html']}`);
  await run(['preview', 'remove', 'pr-11', '--bucket', BUCKET, ...store]);
});

it('a preview that a build is deploying is not removed, neither by hand (--no-wait: one clear error) nor by the TTL (a warning; the deploy succeeds)', async () => {
  const store = ['--key-value-store-arn', stack.outputs.KeyValueStoreArn, '--site', 'web'];
  await deploy(PR, asPreview(12));
  // The lease of a build of pr-12 that is still running elsewhere (a CodeBuild build, renewing it).
  const lease = {
    owner: 'arn:aws:codebuild:us-east-1:000000000000:build/previews:1',
    id: 'running',
    acquiredAt: new Date().toISOString(),
    expiresAt: new Date(Date.now() + 600_000).toISOString(),
  };
  writeFileSync(join(root, 'lease.json'), JSON.stringify(lease));
  await local.cli(['s3', 'cp', join(root, 'lease.json'), `s3://${BUCKET}/_previews/pr-12/.nx-aws-deploy/lease.json`]);
  const refused = await run(['preview', 'remove', 'pr-12', '--bucket', BUCKET, ...store, '--no-wait'], { code: 1 });
  expect(refused.stderr).toContain(
    `Another deploy is shipping to s3://${BUCKET}/_previews/pr-12/: ${lease.owner} (since ${lease.acquiredAt}`,
  );
  const index = `s3://${BUCKET}/_previews/pr-12/.nx-aws-deploy/releases/index.json`;
  const old = JSON.parse((await local.cli(['s3', 'cp', index, '-'])).stdout);
  old.releases[0].at = new Date(Date.now() - 30 * 86_400_000).toISOString();
  writeFileSync(join(root, 'index.json'), JSON.stringify(old));
  await local.cli(['s3', 'cp', join(root, 'index.json'), index]);
  const next = await deploy({ ...MAIN, 'robots.txt': 'User-agent: * (again)' });
  expect(next.stdout).toContain(
    'Warning: preview pr-12 is idle for more than 14 days but was not removed: Another deploy',
  );
  expect((await storeKeys()).filter((k) => k.startsWith('web@pr-12'))).toHaveLength(3);
  await local.cli(['s3', 'rm', `s3://${BUCKET}/_previews/pr-12/.nx-aws-deploy/lease.json`]);
  await run(['preview', 'remove', 'pr-12', '--bucket', BUCKET, ...store]);
  expect((await storeKeys()).filter((k) => k.startsWith('web@pr-12'))).toEqual([]);
});

it('bad input: a preview without a store, or a name that is no pull request, is one clear error', async () => {
  const dist = ['deploy', '--source-dir', 'dist', '--bucket', BUCKET, '--project', 'web'];
  const inPlace = await run([...dist, '--preview', '7'], { code: 1 });
  expect(inPlace.stderr).toContain('"preview" needs "releaseMode": "atomic" and "keyValueStoreArn"');
  const named = await run([...dist, '--preview', 'feature/x'], { code: 1 });
  expect(named.stderr).toContain('"preview" must be a pull request\'s number or pr-<number>, not "feature/x".');
});

/** What a reviewer sees in Chromium (which resolves *.localhost itself): the login prompt, then the preview. */
async function checkInBrowser(url: string): Promise<void> {
  const browser = await launchChromium();
  try {
    const refused = await (await browser.newPage()).goto(url);
    expect([refused?.status(), refused?.headers()['www-authenticate']]).toEqual([401, expect.stringMatching(/^Basic/)]);
    const reviewer = await browser.newContext({ httpCredentials: { username: 'reviewer', password: 's3cret' } });
    const page = await reviewer.newPage();
    const answer = await page.goto(url);
    expect([answer?.status(), answer?.headers()['x-robots-tag'], await page.locator('p').textContent()]).toEqual([
      200,
      'noindex',
      'pr 7, second push',
    ]);
    const wrong = await browser.newContext({ httpCredentials: { username: 'reviewer', password: 'guess' } });
    expect((await (await wrong.newPage()).goto(url))?.status()).toBe(401);
  } finally {
    await browser.close();
  }
}
