import {
  CloudFrontKeyValueStoreClient,
  DeleteKeyCommand,
  DescribeKeyValueStoreCommand,
  GetKeyCommand,
  ListKeysCommand,
  PutKeyCommand,
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
} from '../src';
import { awsCliRunner } from '../src/aws-cli';

/**
 * CloudFront KeyValueStore in the local AWS: the store a template declares, associated with a viewer-request
 * function; the data-plane API through the SDK's own client (SigV4A-signed, by the store's ARN, every write naming
 * the store's ETag); and the edge's function reading it with `cf.kvs()` only once a write has propagated.
 */
const PROPAGATION_MS = 400;
const TEMPLATE = `
Resources:
  Site:
    Type: AWS::S3::Bucket
    Properties: { BucketName: kvs-site }
  Releases:
    Type: AWS::CloudFront::KeyValueStore
    Properties: { Name: kvs-releases, Comment: the live release }
  Router:
    Type: AWS::CloudFront::Function
    Properties:
      Name: kvs-router
      AutoPublish: true
      FunctionConfig:
        Comment: serves the live release
        Runtime: cloudfront-js-2.0
        KeyValueStoreAssociations:
          - KeyValueStoreARN: !GetAtt Releases.Arn
      FunctionCode: |
        import cf from 'cloudfront';
        const store = cf.kvs();
        async function handler(event) {
          const request = event.request;
          try {
            request.uri = '/' + (await store.get('live')) + request.uri;
          } catch (e) {
            // No live release yet: the request as it came.
          }
          return request;
        }
  Echo:
    Type: AWS::CloudFront::Function
    Properties:
      Name: kvs-echo
      AutoPublish: true
      FunctionConfig: { Comment: echoes a cookie and sets one, Runtime: cloudfront-js-2.0 }
      FunctionCode: |
        async function handler(event) {
          var response = event.response;
          var flavour = event.request.cookies.flavour;
          response.headers['x-flavour'] = { value: flavour ? flavour.value : 'none' };
          response.cookies.served = { value: String(response.statusCode), attributes: 'Path=/' };
          return response;
        }
  Distribution:
    Type: AWS::CloudFront::Distribution
    Properties:
      DistributionConfig:
        Enabled: true
        DefaultRootObject: index.html
        Origins: [{ Id: s3, DomainName: !GetAtt Site.RegionalDomainName, S3OriginConfig: { OriginAccessIdentity: '' } }]
        DefaultCacheBehavior:
          TargetOriginId: s3
          ViewerProtocolPolicy: redirect-to-https
          FunctionAssociations:
            - { EventType: viewer-request, FunctionARN: !GetAtt Router.FunctionARN }
            - { EventType: viewer-response, FunctionARN: !GetAtt Echo.FunctionARN }
  Writer:
    Type: AWS::IAM::Role
    Properties:
      Policies:
        - PolicyName: switch
          PolicyDocument:
            Version: '2012-10-17'
            Statement:
              - Effect: Allow
                Action: [cloudfront-keyvaluestore:DescribeKeyValueStore, cloudfront-keyvaluestore:PutKey]
                Resource: !GetAtt Releases.Arn
Outputs:
  StoreArn: { Value: !GetAtt Releases.Arn }
  DistributionId: { Value: !Ref Distribution }
  Writer: { Value: !GetAtt Writer.Arn }
`;

let local: LocalAwsHarness;
let stack: StackResult;
let kvs: CloudFrontKeyValueStoreClient;
let arn: string;
beforeAll(async () => {
  local = await startLocalAws({ kvsPropagationMs: PROPAGATION_MS });
  stack = await deployStack({ endpoint: local.aws.url, template: parseTemplate(TEMPLATE), stackName: 'kvs' });
  arn = stack.outputs.StoreArn;
  const s3 = new S3Client({ forcePathStyle: true });
  for (const release of ['r1', 'r2'])
    await s3.send(
      new PutObjectCommand({ Bucket: 'kvs-site', Key: `${release}/index.html`, Body: `<h1>${release}</h1>` }),
    );
  s3.destroy();
  kvs = keyValueStoreClient();
});
afterAll(async () => {
  kvs?.destroy();
  await local.stop();
});

const etag = async () => (await kvs.send(new DescribeKeyValueStoreCommand({ KvsARN: arn }))).ETag!;
const failure = (request: Promise<unknown>) =>
  request.then(
    () => 'succeeded',
    (e: Error & { $metadata?: { httpStatusCode?: number } }) => `${e.$metadata?.httpStatusCode} ${e.name}`,
  );

it('the template makes the store, and a function associated with it; the API describes the store by its ARN', async () => {
  expect(arn).toMatch(/^arn:aws:cloudfront::000000000000:key-value-store\/[0-9a-f-]{36}$/);
  const described = await kvs.send(new DescribeKeyValueStoreCommand({ KvsARN: arn }));
  expect(described).toMatchObject({ KvsARN: arn, ItemCount: 0, TotalSizeInBytes: 0, Status: 'READY' });
  expect(described.ETag).toBeTruthy();
});

it('every write names the store ETag: a stale one is refused with ConflictException, a missing key is not found', async () => {
  const before = await etag();
  const put = await kvs.send(new PutKeyCommand({ KvsARN: arn, Key: 'live', Value: 'r1', IfMatch: before }));
  expect(put).toMatchObject({ ItemCount: 1, TotalSizeInBytes: 6 });
  expect(put.ETag).not.toBe(before);
  expect(await failure(kvs.send(new PutKeyCommand({ KvsARN: arn, Key: 'live', Value: 'r9', IfMatch: before })))).toBe(
    '409 ConflictException',
  );
  expect((await kvs.send(new GetKeyCommand({ KvsARN: arn, Key: 'live' }))).Value).toBe('r1');
  expect(await failure(kvs.send(new GetKeyCommand({ KvsARN: arn, Key: 'nothing' })))).toBe(
    '404 ResourceNotFoundException',
  );
  const tooLong = 'x'.repeat(1025);
  expect(
    await failure(kvs.send(new PutKeyCommand({ KvsARN: arn, Key: 'big', Value: tooLong, IfMatch: await etag() }))),
  ).toBe('400 ValidationException');
});

it('UpdateKeys writes up to 50 keys at once; ListKeys pages them by 50; DeleteKey removes one', async () => {
  const Puts = Array.from({ length: 60 }, (_, i) => ({ Key: `page-${String(i).padStart(2, '0')}`, Value: `v${i}` }));
  expect(await failure(kvs.send(new UpdateKeysCommand({ KvsARN: arn, IfMatch: await etag(), Puts })))).toBe(
    '402 ServiceQuotaExceededException',
  );
  await kvs.send(new UpdateKeysCommand({ KvsARN: arn, IfMatch: await etag(), Puts: Puts.slice(0, 50) }));
  const updated = await kvs.send(new UpdateKeysCommand({ KvsARN: arn, IfMatch: await etag(), Puts: Puts.slice(50) }));
  expect(updated.ItemCount).toBe(61);
  const pages: string[][] = [];
  let NextToken: string | undefined;
  do {
    const page = await kvs.send(new ListKeysCommand({ KvsARN: arn, NextToken }));
    pages.push(page.Items!.map((item) => item.Key!));
    NextToken = page.NextToken;
  } while (NextToken);
  expect(pages.map((p) => p.length)).toEqual([50, 11]);
  expect(pages.flat()).toEqual(['live', ...Puts.map((p) => p.Key)]);
  const deleted = await kvs.send(new DeleteKeyCommand({ KvsARN: arn, Key: 'page-00', IfMatch: await etag() }));
  expect(deleted.ItemCount).toBe(60);
});

it("the edge's function reads the store with cf.kvs(): a switch is served once it has propagated, not before", async () => {
  const id = stack.outputs.DistributionId;
  const served = async () => (await edgeGet(local.aws, id, '/index.html')).body.toString();
  await new Promise((resolve) => setTimeout(resolve, PROPAGATION_MS));
  expect(await served()).toBe('<h1>r1</h1>');
  await kvs.send(new PutKeyCommand({ KvsARN: arn, Key: 'live', Value: 'r2', IfMatch: await etag() }));
  // The API answers the new value at once; the edges still hold the old one within the window.
  expect((await kvs.send(new GetKeyCommand({ KvsARN: arn, Key: 'live' }))).Value).toBe('r2');
  expect(await served()).toBe('<h1>r1</h1>');
  await new Promise((resolve) => setTimeout(resolve, PROPAGATION_MS));
  expect(await served()).toBe('<h1>r2</h1>');
});

it('the viewer-response function sees the answer and the cookies the viewer sent, and sets cookies', async () => {
  const response = await edgeGet(local.aws, stack.outputs.DistributionId, '/index.html', {
    cookie: 'a=1; flavour=mint',
  });
  expect([response.headers.get('x-flavour'), response.headers.getSetCookie()]).toEqual([
    'mint',
    ['served=200; Path=/'],
  ]);
  expect((await edgeGet(local.aws, stack.outputs.DistributionId, '/index.html')).headers.get('x-flavour')).toBe('none');
});

it("a role's session: SigV4A-signed writes it may make are allowed, others refused; a wrong secret is refused", async () => {
  const env = await local.assumeRole(stack.outputs.Writer, 'switch');
  const credentials = {
    accessKeyId: env.AWS_ACCESS_KEY_ID,
    secretAccessKey: env.AWS_SECRET_ACCESS_KEY,
    sessionToken: env.AWS_SESSION_TOKEN,
  };
  const asWriter = keyValueStoreClient(credentials);
  const forged = keyValueStoreClient({ ...credentials, secretAccessKey: 'not-the-secret' });
  try {
    const version = (await asWriter.send(new DescribeKeyValueStoreCommand({ KvsARN: arn }))).ETag!;
    expect(
      await failure(asWriter.send(new PutKeyCommand({ KvsARN: arn, Key: 'live', Value: 'r1', IfMatch: version }))),
    ).toBe('succeeded');
    expect(await failure(asWriter.send(new GetKeyCommand({ KvsARN: arn, Key: 'live' })))).toBe(
      '403 AccessDeniedException',
    );
    expect(await failure(forged.send(new DescribeKeyValueStoreCommand({ KvsARN: arn })))).toBe(
      '403 InvalidSignatureException',
    );
  } finally {
    asWriter.destroy();
    forged.destroy();
  }
});

/**
 * The aws CLI, a second client with a signer of its own (the AWS CRT's SigV4A, from Debian's python3-awscrt): it
 * reaches the API's `<account>.localhost` host through HTTP_PROXY (Python does not resolve `*.localhost`).
 */
it('the aws CLI, signing with the CRT: the same ETag semantics and errors, and a role session checked by its SigV4A signature', async () => {
  const cliAs = (env: Record<string, string>) =>
    awsCliRunner({ ...(process.env as Record<string, string>), ...env, HTTP_PROXY: local.aws.url, NO_PROXY: '' }, [
      '--output',
      'json',
    ]);
  const admin = cliAs(local.env);
  const writer = cliAs(await local.assumeRole(stack.outputs.Writer, 'cli'));
  const forged = cliAs({
    ...(await local.assumeRole(stack.outputs.Writer, 'forged')),
    AWS_SECRET_ACCESS_KEY: 'not-the-secret',
  });
  const kvsCli = async (cli: typeof admin, args: string[]) => {
    try {
      return JSON.parse((await cli.cli(['cloudfront-keyvaluestore', ...args, '--kvs-arn', arn])).stdout || '{}');
    } catch (error) {
      return (error as { stderr: string }).stderr.trim();
    }
  };
  try {
    const { ETag: before, ItemCount } = await kvsCli(admin, ['describe-key-value-store']);
    const put = await kvsCli(admin, ['put-key', '--key', 'cli', '--value', 'r2', '--if-match', before]);
    expect(put).toMatchObject({ ItemCount: ItemCount + 1 });
    expect(await kvsCli(admin, ['get-key', '--key', 'cli'])).toMatchObject({ Key: 'cli', Value: 'r2' });
    expect(await kvsCli(admin, ['put-key', '--key', 'cli', '--value', 'r9', '--if-match', before])).toMatch(
      /\(ConflictException\) when calling the PutKey operation/,
    );
    expect(await kvsCli(admin, ['get-key', '--key', 'none'])).toMatch(
      /\(ResourceNotFoundException\) when calling the GetKey operation/,
    );
    const listed = await kvsCli(admin, ['list-keys']);
    expect(listed.Items.map((item: { Key: string }) => item.Key)).toContain('cli');
    const deleted = await kvsCli(admin, ['delete-key', '--key', 'cli', '--if-match', put.ETag]);
    expect(deleted.ItemCount).toBe(ItemCount);
    // As the role: its SigV4A signature verified, each call decided by its policy.
    const { ETag } = await kvsCli(writer, ['describe-key-value-store']);
    expect(await kvsCli(writer, ['put-key', '--key', 'cli', '--value', 'r1', '--if-match', ETag])).toMatchObject({
      ItemCount: ItemCount + 1,
    });
    expect(await kvsCli(writer, ['get-key', '--key', 'cli'])).toMatch(
      /\(AccessDeniedException\) when calling the GetKey operation: .*cloudfront-keyvaluestore:GetKey/,
    );
    expect(await kvsCli(forged, ['describe-key-value-store'])).toMatch(/\(InvalidSignatureException\)/);
  } finally {
    for (const runner of [admin, writer, forged]) runner.stop();
  }
});
