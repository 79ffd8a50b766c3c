import { deployStack, parseTemplate, startLocalAws, type LocalAwsHarness, type StackResult } from 'local-aws';
import { createKeyValueStoreClient } from '../src/lib/aws/kvs-client';
import {
  MAX_STORE_BYTES,
  readLiveRelease,
  switchLiveRelease,
  updateKeys,
  type LiveReleaseStore,
} from '../src/lib/releases/live-release';

/**
 * A site's live release in a CloudFront KeyValueStore, on the local AWS through the SDK's own client: one
 * conditional write per switch, computed from what was live; writers that race all land, none lost; a missing
 * store and a refused write each end with one clear error and leave the store as it was.
 */
const TEMPLATE = `
Resources:
  Releases:
    Type: AWS::CloudFront::KeyValueStore
    Properties: { Name: live-releases }
  ReadOnly:
    Type: AWS::IAM::Role
    Properties:
      Policies:
        - PolicyName: read
          PolicyDocument:
            Version: '2012-10-17'
            Statement:
              - Effect: Allow
                Action: [cloudfront-keyvaluestore:DescribeKeyValueStore, cloudfront-keyvaluestore:GetKey]
                Resource: !GetAtt Releases.Arn
Outputs:
  Store: { Value: !GetAtt Releases.Arn }
  ReadOnly: { Value: !GetAtt ReadOnly.Arn }
`;

let local: LocalAwsHarness;
let stack: StackResult;
let store: LiveReleaseStore;
beforeAll(async () => {
  local = await startLocalAws();
  stack = await deployStack({ endpoint: local.aws.url, template: parseTemplate(TEMPLATE), stackName: 'live' });
  store = { client: createKeyValueStoreClient(), storeArn: stack.outputs.Store, site: 'frontend' };
});
afterAll(async () => {
  store?.client.destroy();
  await local?.stop();
});

const next = (current: { live: number } | undefined) => ({ live: (current?.live ?? 0) + 1 });

it('a site with no release made live reads none; one switch makes the next live with one conditional write', async () => {
  expect(await readLiveRelease(store)).toBeUndefined();
  await local.resetRequests();
  expect(await switchLiveRelease(store, next)).toEqual({
    previous: undefined,
    current: { live: 1 },
    attempts: 1,
  });
  const writes = Object.entries(await local.requests()).filter(([operation]) => /PutKey|UpdateKeys/.test(operation));
  expect(writes).toEqual([['cloudfront-keyvaluestore.PutKey', 1]]);
  expect(await readLiveRelease(store)).toEqual({ live: 1 });
});

it('writers that race each land once, computed from what was live: no switch is lost', async () => {
  const before = (await readLiveRelease(store))!.live;
  const switches = await Promise.all(Array.from({ length: 5 }, () => switchLiveRelease(store, next)));
  expect((await readLiveRelease(store))!.live).toBe(before + 5);
  expect(switches.map((s) => s.current.live).sort()).toEqual([1, 2, 3, 4, 5].map((n) => before + n));
  // They conflicted and read again: more attempts than switches.
  expect(switches.reduce((sum, s) => sum + s.attempts, 0)).toBeGreaterThan(5);
});

it('a store that does not exist and a role that may not write: one clear error each, the store unchanged', async () => {
  const live = await readLiveRelease(store);
  const missing = { ...store, storeArn: store.storeArn.replace(/[0-9a-f]{12}$/, '000000000000') };
  await expect(switchLiveRelease(missing, next)).rejects.toThrow(
    `KeyValueStore ${missing.storeArn} does not exist (cloudfront-keyvaluestore:DescribeKeyValueStore on ${missing.storeArn}). Fix the "keyValueStoreArn" option.`,
  );
  const env = await local.assumeRole(stack.outputs.ReadOnly, 'reader');
  const reader = createKeyValueStoreClient({
    credentials: {
      accessKeyId: env.AWS_ACCESS_KEY_ID,
      secretAccessKey: env.AWS_SECRET_ACCESS_KEY,
      sessionToken: env.AWS_SESSION_TOKEN,
    },
  });
  try {
    await expect(switchLiveRelease({ ...store, client: reader }, next)).rejects.toThrow(
      new RegExp(
        `^Access denied: cloudfront-keyvaluestore:PutKey on ${store.storeArn}\\. Allow cloudfront-keyvaluestore:PutKey on ${store.storeArn} for arn:aws:sts::000000000000:assumed-role/[^/]+/reader\\.$`,
      ),
    );
  } finally {
    reader.destroy();
  }
  expect(await readLiveRelease(store)).toEqual(live);
});

it("CloudFront's limits are refused before any write, naming them: a value over 1 024 bytes, a store over 5 MB", async () => {
  const live = await readLiveRelease(store);
  await local.resetRequests();
  const long = { key: 'frontend/index.html', value: '1 '.repeat(600) };
  await expect(updateKeys(store, { puts: [long], deletes: [], growth: 1200 })).rejects.toThrow(
    `The value of "frontend/index.html" in KeyValueStore ${store.storeArn} would be 1200 bytes, more than the 1024 CloudFront allows`,
  );
  await expect(updateKeys(store, { puts: [], deletes: [], growth: MAX_STORE_BYTES })).rejects.toThrow(
    /would hold 5\.0 MB, more than the 5 MB CloudFront allows: .*nothing was changed\.$/,
  );
  const writes = Object.keys(await local.requests()).filter((operation) => /PutKey|UpdateKeys/.test(operation));
  expect(writes).toEqual([]);
  expect(await readLiveRelease(store)).toEqual(live);
});
