import {
  CloudFrontKeyValueStoreClient,
  DescribeKeyValueStoreCommand,
  UpdateKeysCommand,
} from '@aws-sdk/client-cloudfront-keyvaluestore';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import {
  deployStack,
  edgeGet,
  keyValueStoreClient,
  parseTemplate,
  startLocalAws,
  type LocalAwsHarness,
  type StackResult,
} from 'local-aws';
import { stringify } from 'yaml';
import { MAX_FUNCTION_BYTES, releaseRouterCode } from '../src/generators/pipeline/cloudfront-function/release-router';
import type { LiveRelease } from '../src/lib/releases/live-release';

/**
 * The release router on the local edge (cloudfront-js-2.0 with its KeyValueStore): which object of the bucket
 * each URL is answered with (content-hashed files at their own keys, every other file the live release's), for a site whose live release the store names, one with Storybook, and one that has
 * no release in the store yet. Every object's body is its key.
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
];

let local: LocalAwsHarness;
let stack: StackResult;
let kvs: CloudFrontKeyValueStoreClient;

/** A distribution in front of the bucket with the router for `site` as its viewer-request function. */
const routed = (name: string, site: string, storybook: boolean) => ({
  [`${name}Router`]: {
    Type: 'AWS::CloudFront::Function',
    Properties: {
      Name: `router-${name.toLowerCase()}`,
      AutoPublish: true,
      FunctionConfig: {
        Comment: 'release router',
        Runtime: 'cloudfront-js-2.0',
        KeyValueStoreAssociations: [{ KeyValueStoreARN: { 'Fn::GetAtt': ['Releases', 'Arn'] } }],
      },
      FunctionCode: releaseRouterCode({ site, storybook }),
    },
  },
  [`${name}Distribution`]: {
    Type: 'AWS::CloudFront::Distribution',
    Properties: {
      DistributionConfig: {
        Enabled: true,
        DefaultRootObject: 'index.html',
        Origins: [
          {
            Id: 's3',
            DomainName: { 'Fn::GetAtt': ['Site', 'RegionalDomainName'] },
            S3OriginConfig: { OriginAccessIdentity: '' },
          },
        ],
        DefaultCacheBehavior: {
          TargetOriginId: 's3',
          ViewerProtocolPolicy: 'redirect-to-https',
          FunctionAssociations: [
            { EventType: 'viewer-request', FunctionARN: { 'Fn::GetAtt': [`${name}Router`, 'FunctionARN'] } },
          ],
        },
      },
    },
  },
});

beforeAll(async () => {
  local = await startLocalAws();
  const template = {
    Resources: {
      Site: { Type: 'AWS::S3::Bucket', Properties: { BucketName: 'router-site' } },
      Releases: { Type: 'AWS::CloudFront::KeyValueStore', Properties: { Name: 'router-releases' } },
      ...routed('Web', 'web', false),
      ...routed('Dev', 'dev', true),
      ...routed('Fresh', 'fresh', false),
    },
    Outputs: {
      Store: { Value: { 'Fn::GetAtt': ['Releases', 'Arn'] } },
      Web: { Value: { Ref: 'WebDistribution' } },
      Dev: { Value: { Ref: 'DevDistribution' } },
      Fresh: { Value: { Ref: 'FreshDistribution' } },
    },
  };
  stack = await deployStack({ endpoint: local.aws.url, template: parseTemplate(stringify(template)), stackName: 'r' });
  const s3 = new S3Client({ forcePathStyle: true });
  await Promise.all(KEYS.map((Key) => s3.send(new PutObjectCommand({ Bucket: 'router-site', Key, Body: Key }))));
  s3.destroy();
  kvs = keyValueStoreClient();
  const live: LiveRelease = { live: 2 };
  const KvsARN = stack.outputs.Store;
  const { ETag } = await kvs.send(new DescribeKeyValueStoreCommand({ KvsARN }));
  await kvs.send(
    new UpdateKeysCommand({
      KvsARN,
      IfMatch: ETag,
      Puts: ['web', 'dev'].map((Key) => ({ Key, Value: JSON.stringify(live) })),
    }),
  );
});
afterAll(async () => {
  kvs?.destroy();
  await local?.stop();
});

const served = async (distribution: string, path: string) => {
  const response = await edgeGet(local.aws, stack.outputs[distribution], path);
  return response.status === 200 ? response.body.toString() : `${response.status} ${response.headers.get('location')}`;
};

it("is within CloudFront's 10 KB", () => {
  expect(Buffer.byteLength(releaseRouterCode({ site: 'x'.repeat(100), storybook: true }))).toBeLessThan(
    MAX_FUNCTION_BYTES,
  );
});

it.each([
  ['Web', '/', '_releases/2/index.html'],
  ['Web', '/pricing', '_releases/2/index.html'],
  ['Web', '/users/42/settings', '_releases/2/index.html'],
  ['Web', '/docs/', '_releases/2/docs/index.html'],
  ['Web', '/robots.txt', '_releases/2/robots.txt'],
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
