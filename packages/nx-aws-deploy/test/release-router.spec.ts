import {
  CloudFrontKeyValueStoreClient,
  DescribeKeyValueStoreCommand,
  UpdateKeysCommand,
} from '@aws-sdk/client-cloudfront-keyvaluestore';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { edgeGet, keyValueStoreClient, startLocalAws, type LocalAwsHarness, type StackResult } from 'local-aws';
import { MAX_FUNCTION_BYTES, releaseRouterCode } from '../src/generators/pipeline/cloudfront-function/release-router';
import { deployRouterStack } from './release-router-stack';
import type { LiveRelease } from '../src/lib/releases/live-release';

/**
 * The release router on the local edge (cloudfront-js-2.0 with its KeyValueStore): which object of the bucket
 * each URL is answered with (content-hashed files at their own keys, every other file from the folder the file
 * index names for the live release, or the live release's own), for a site whose live release the store names,
 * one with Storybook, and one that has no release in the store yet. Every object's body is its key.
 */
const KEYS = [
  'index.html',
  'docs/index.html',
  'assets/index-B-XZhOr9.js',
  '_releases/2/index.html',
  '_releases/2/docs/index.html',
  '_releases/2/robots.txt',
  '_releases/2/images/logo.png',
  'chunk-AB12CD34.js',
  '_releases/2/assets/not-hashed.js',
  '_releases/2/storybook/index.html',
  '_releases/2/storybook/sb-manager/runtime.js',
  '_releases/1/robots.txt',
  '_releases/3/index.html',
  '_releases/1/about.html',
];

/** Web's file index: robots.txt unchanged since release 1, a release 3 not live yet, a page release 2 removed. */
const WEB_INDEX = { 'web/robots.txt': '1', 'web/index.html': '2 3', 'web/about.html': '1 2:-' };

let local: LocalAwsHarness;
let stack: StackResult;
let kvs: CloudFrontKeyValueStoreClient;

beforeAll(async () => {
  local = await startLocalAws();
  stack = await deployRouterStack(local, 'router-site', [
    { name: 'Web', site: 'web', storybook: false },
    { name: 'Dev', site: 'dev', storybook: true },
    { name: 'Fresh', site: 'fresh', storybook: false },
  ]);
  const s3 = new S3Client({ forcePathStyle: true });
  await Promise.all(KEYS.map((Key) => s3.send(new PutObjectCommand({ Bucket: 'router-site', Key, Body: Key }))));
  s3.destroy();
  kvs = keyValueStoreClient();
  const live: LiveRelease = { live: 2 };
  const KvsARN = stack.outputs.KeyValueStoreArn;
  const { ETag } = await kvs.send(new DescribeKeyValueStoreCommand({ KvsARN }));
  await kvs.send(
    new UpdateKeysCommand({
      KvsARN,
      IfMatch: ETag,
      Puts: [
        ...['web', 'dev'].map((Key) => ({ Key, Value: JSON.stringify(live) })),
        ...Object.entries(WEB_INDEX).map(([Key, Value]) => ({ Key, Value })),
      ],
    }),
  );
});
afterAll(async () => {
  kvs?.destroy();
  await local?.stop();
});

const served = async (distribution: string, path: string) => {
  const response = await edgeGet(local.aws, stack.outputs[`${distribution}DistributionId`], path);
  return response.status === 200 ? response.body.toString() : `${response.status} ${response.headers.get('location')}`;
};

it("is within CloudFront's 10 KB", () => {
  expect(Buffer.byteLength(releaseRouterCode({ site: 'x'.repeat(100), storybook: true, spa: true }))).toBeLessThan(
    MAX_FUNCTION_BYTES,
  );
});

it.each([
  ['Web', '/', '_releases/2/index.html'],
  ['Web', '/pricing', '_releases/2/index.html'],
  ['Web', '/users/42/settings', '_releases/2/index.html'],
  ['Web', '/docs/', '_releases/2/docs/index.html'],
  ['Web', '/robots.txt', '_releases/1/robots.txt'],
  ['Web', '/about.html', '403 null'],
  ['Web', '/images/logo.png', '_releases/2/images/logo.png'],
  ['Web', '/assets/index-B-XZhOr9.js', 'assets/index-B-XZhOr9.js'],
  ['Web', '/chunk-AB12CD34.js', 'chunk-AB12CD34.js'],
  ['Web', '/assets/not-hashed.js', '_releases/2/assets/not-hashed.js'],
  ['Web', '/storybook', '_releases/2/index.html'],
  ['Dev', '/storybook', '301 /storybook/'],
  ['Dev', '/storybook/', '_releases/2/storybook/index.html'],
  ['Dev', '/storybook/sb-manager/runtime.js', '_releases/2/storybook/sb-manager/runtime.js'],
  ['Dev', '/pricing', '_releases/2/index.html'],
  // No release in the store yet: the files an in-place deploy left, as they are.
  ['Fresh', '/', 'index.html'],
  ['Fresh', '/pricing', 'index.html'],
  ['Fresh', '/docs/', 'docs/index.html'],
  ['Fresh', '/assets/index-B-XZhOr9.js', 'assets/index-B-XZhOr9.js'],
])('%s %s → %s', async (distribution, path, expected) => {
  expect(await served(distribution, path)).toBe(expected);
});
