import { CloudFrontClient, CreateInvalidationCommand } from '@aws-sdk/client-cloudfront';
import {
  CodePipelineClient,
  GetPipelineExecutionCommand,
  ListPipelinesCommand,
  StartPipelineExecutionCommand,
} from '@aws-sdk/client-codepipeline';
import {
  CopyObjectCommand,
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutBucketPolicyCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { SignatureV4 } from '@smithy/signature-v4';
import { deployStack, parseTemplate, Sha256, startLocalAws, type LocalAwsHarness } from '../src';

/**
 * The local AWS as IAM: a role a template creates, credentials for it from the local STS, and every request signed
 * with them decided by the role's policies and the bucket's, as AWS decides it and answers it.
 */
const TEMPLATE = `
Resources:
  Site:
    Type: AWS::S3::Bucket
    Properties: { BucketName: iam-site }
  SitePolicy:
    Type: AWS::S3::BucketPolicy
    Properties:
      Bucket: !Ref Site
      PolicyDocument:
        Version: '2012-10-17'
        Statement:
          - Effect: Deny
            Principal: '*'
            Action: s3:PutObject
            Resource: !Sub '\${Site.Arn}/locked/*'
          - Effect: Deny
            Principal: '*'
            Action: s3:PutObject
            Resource: !Sub '\${Site.Arn}/leases/*'
            Condition: { 'Null': { 's3:if-none-match': 'true' } }
  Deployer:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:
        Version: '2012-10-17'
        Statement: [{ Effect: Allow, Principal: { Service: codebuild.amazonaws.com }, Action: sts:AssumeRole }]
      Policies:
        - PolicyName: deploy
          PolicyDocument:
            Version: '2012-10-17'
            Statement:
              - Effect: Allow
                Action: s3:ListBucket
                Resource: !GetAtt Site.Arn
                Condition: { StringLike: { s3:prefix: ['', 'app/*'] } }
              - Effect: Allow
                Action: [s3:GetObject, s3:PutObject]
                Resource: !Sub '\${Site.Arn}/*'
Outputs:
  Role:
    Value: !GetAtt Deployer.Arn
`;

let local: LocalAwsHarness;
let role: string;
let credentials: { accessKeyId: string; secretAccessKey: string; sessionToken: string };
let asRole: { s3: S3Client; cloudfront: CloudFrontClient; codepipeline: CodePipelineClient };
beforeAll(async () => {
  local = await startLocalAws();
  const admin = new S3Client({ forcePathStyle: true });
  await admin.send(new CreateBucketCommand({ Bucket: 'elsewhere' }));
  await admin.send(new PutObjectCommand({ Bucket: 'elsewhere', Key: 'secret.txt', Body: 'not yours' }));
  admin.destroy();
  role = (await deployStack({ endpoint: local.aws.url, template: parseTemplate(TEMPLATE), stackName: 'iam' })).outputs
    .Role;
  const env = await local.assumeRole(role, 'build-1');
  credentials = {
    accessKeyId: env.AWS_ACCESS_KEY_ID,
    secretAccessKey: env.AWS_SECRET_ACCESS_KEY,
    sessionToken: env.AWS_SESSION_TOKEN,
  };
  asRole = {
    s3: new S3Client({ credentials, forcePathStyle: true }),
    cloudfront: new CloudFrontClient({ credentials }),
    codepipeline: new CodePipelineClient({ credentials }),
  };
});
afterAll(async () => {
  for (const client of Object.values(asRole ?? {})) client.destroy();
  await local.stop();
});

const refusal = (promise: Promise<unknown>) =>
  promise.then(
    () => 'allowed',
    (e: Error & { $metadata?: { httpStatusCode?: number } }) =>
      `${e.$metadata?.httpStatusCode} ${e.name}: ${e.message}`,
  );
const session = () => `arn:aws:sts::000000000000:assumed-role/${role.split('/').pop()}/build-1`;

it('the local STS hands out credentials of a deployed role: a session the aws CLI gets, with its own access key', async () => {
  expect(role).toMatch(/^arn:aws:iam::000000000000:role\/iam-Deployer-[0-9A-F]{12}$/);
  const env = await local.assumeRole(role, 'build-2');
  expect(env.AWS_ACCESS_KEY_ID).toMatch(/^ASIA[0-9A-F]{16}$/);
  expect(env.AWS_SESSION_TOKEN).toBeTruthy();
  await expect(local.assumeRole(`${role}-gone`, 'build-3')).rejects.toThrow(/AccessDenied.*sts:AssumeRole/s);
});

it('allows what the role grants, with its conditions: writes and reads under the bucket, a listing of app/', async () => {
  await asRole.s3.send(new PutObjectCommand({ Bucket: 'iam-site', Key: 'app/index.html', Body: '<h1>v1</h1>' }));
  const page = await asRole.s3.send(new GetObjectCommand({ Bucket: 'iam-site', Key: 'app/index.html' }));
  expect(await page.Body!.transformToString()).toBe('<h1>v1</h1>');
  const listed = await asRole.s3.send(new ListObjectsV2Command({ Bucket: 'iam-site', Prefix: 'app/' }));
  expect(listed.Contents?.map((o) => o.Key)).toEqual(['app/index.html']);
});

it.each([
  [
    'an action no policy grants',
    () => asRole.s3.send(new DeleteObjectCommand({ Bucket: 'iam-site', Key: 'app/index.html' })),
    () =>
      `403 AccessDenied: User: ${session()} is not authorized to perform: s3:DeleteObject on resource: "arn:aws:s3:::iam-site/app/index.html" because no identity-based policy allows the s3:DeleteObject action`,
  ],
  [
    'a listing outside the prefixes its condition allows',
    () => asRole.s3.send(new ListObjectsV2Command({ Bucket: 'iam-site', Prefix: 'other/' })),
    () =>
      `403 AccessDenied: User: ${session()} is not authorized to perform: s3:ListBucket on resource: "arn:aws:s3:::iam-site" because no identity-based policy allows the s3:ListBucket action`,
  ],
  [
    "a write the bucket's policy denies, although the role allows it",
    () => asRole.s3.send(new PutObjectCommand({ Bucket: 'iam-site', Key: 'locked/a.txt', Body: 'x' })),
    () =>
      `403 AccessDenied: User: ${session()} is not authorized to perform: s3:PutObject on resource: "arn:aws:s3:::iam-site/locked/a.txt" with an explicit deny in a resource-based policy`,
  ],
  [
    "a copy whose source it may not read (a copy is authorized as a write and as the source's read)",
    () =>
      asRole.s3.send(
        new CopyObjectCommand({ Bucket: 'iam-site', Key: 'app/stolen.txt', CopySource: 'elsewhere/secret.txt' }),
      ),
    () =>
      `403 AccessDenied: User: ${session()} is not authorized to perform: s3:GetObject on resource: "arn:aws:s3:::elsewhere/secret.txt" because no identity-based policy allows the s3:GetObject action`,
  ],
  [
    'a CloudFront invalidation',
    () =>
      asRole.cloudfront.send(
        new CreateInvalidationCommand({
          DistributionId: 'E1EXAMPLE',
          InvalidationBatch: { CallerReference: 'x', Paths: { Quantity: 1, Items: ['/*'] } },
        }),
      ),
    () =>
      `403 AccessDenied: User: ${session()} is not authorized to perform: cloudfront:CreateInvalidation on resource: "arn:aws:cloudfront::000000000000:distribution/E1EXAMPLE" because no identity-based policy allows the cloudfront:CreateInvalidation action`,
  ],
  [
    'a CodePipeline call (a JSON protocol: AccessDeniedException)',
    () => asRole.codepipeline.send(new ListPipelinesCommand({})),
    () =>
      `400 AccessDeniedException: User: ${session()} is not authorized to perform: codepipeline:ListPipelines on resource: "*" because no identity-based policy allows the codepipeline:ListPipelines action`,
  ],
])('refuses %s as AWS does, saying who, which action, which resource and why', async (_, call, message) => {
  expect(await refusal(call())).toBe(message());
});

it('a refused request changes nothing (the aws CLI, as the administrator, reads the bucket), and the log says who was refused what', async () => {
  await local.resetRequests();
  await refusal(asRole.s3.send(new DeleteObjectCommand({ Bucket: 'iam-site', Key: 'app/index.html' })));
  const log = await local.requestLog();
  expect(log).toEqual([
    expect.objectContaining({
      operation: 's3.DeleteObject',
      status: 403,
      principal: session(),
      authorizations: [
        {
          action: 's3:DeleteObject',
          resource: 'arn:aws:s3:::iam-site/app/index.html',
          context: { 'aws:SecureTransport': 'true' },
          allowed: false,
        },
      ],
    }),
  ]);
  const { stdout } = await local.cli(['s3api', 'list-objects-v2', '--bucket', 'iam-site']);
  expect(JSON.parse(stdout).Contents.map((o: { Key: string }) => o.Key)).toEqual(['app/index.html']);
});

it("decides as AWS where moto's IAM check does not: a bucket policy's Allow for this account's role, keys with '+' and non-ASCII", async () => {
  const admin = new S3Client({ forcePathStyle: true });
  await admin.send(new PutObjectCommand({ Bucket: 'elsewhere', Key: 'shared.txt', Body: 'shared' }));
  await admin.send(
    new PutBucketPolicyCommand({
      Bucket: 'elsewhere',
      Policy: JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Allow',
            Principal: { AWS: role },
            Action: 's3:GetObject',
            Resource: 'arn:aws:s3:::elsewhere/shared.txt',
          },
        ],
      }),
    }),
  );
  admin.destroy();
  const shared = await asRole.s3.send(new GetObjectCommand({ Bucket: 'elsewhere', Key: 'shared.txt' }));
  expect(await shared.Body!.transformToString()).toBe('shared');
  expect(await refusal(asRole.s3.send(new GetObjectCommand({ Bucket: 'elsewhere', Key: 'secret.txt' })))).toMatch(
    /^403 AccessDenied/,
  );
  for (const Key of ['app/plus+sign.txt', 'app/dir with space/ünïcødé.txt'])
    expect(await refusal(asRole.s3.send(new PutObjectCommand({ Bucket: 'iam-site', Key, Body: Key })))).toBe('allowed');
});

it("passes a conditional write's condition to the policy: a lease written only if none exists (s3:if-none-match)", async () => {
  const lease = { Bucket: 'iam-site', Key: 'leases/deploy.json', Body: '{}' };
  expect(await refusal(asRole.s3.send(new PutObjectCommand(lease)))).toMatch(
    /^403 AccessDenied: .* s3:PutObject on resource: "arn:aws:s3:::iam-site\/leases\/deploy.json" with an explicit deny in a resource-based policy$/,
  );
  expect(await refusal(asRole.s3.send(new PutObjectCommand({ ...lease, IfNoneMatch: '*' })))).toBe('allowed');
});

describe("a session's signatures are verified as AWS verifies them", () => {
  const get = { Bucket: 'iam-site', Key: 'app/index.html' };
  const withClient = async <T>(config: object, call: (s3: S3Client) => Promise<T>) => {
    const s3 = new S3Client({ forcePathStyle: true, maxAttempts: 1, ...config });
    try {
      return await call(s3);
    } finally {
      s3.destroy();
    }
  };

  it('a wrong secret: SignatureDoesNotMatch from S3, InvalidSignatureException from CodePipeline', async () => {
    const wrong = { ...credentials, secretAccessKey: `${credentials.secretAccessKey}x` };
    expect(await refusal(withClient({ credentials: wrong }, (s3) => s3.send(new GetObjectCommand(get))))).toMatch(
      /^403 SignatureDoesNotMatch: The request signature we calculated does not match/,
    );
    const codepipeline = new CodePipelineClient({ credentials: wrong, maxAttempts: 1 });
    expect(await refusal(codepipeline.send(new ListPipelinesCommand({})))).toMatch(/^400 InvalidSignatureException:/);
    codepipeline.destroy();
  });

  it('a signed header changed on the way: SignatureDoesNotMatch', async () => {
    const signer = new SignatureV4({
      service: 's3',
      region: 'us-east-1',
      credentials,
      sha256: Sha256,
      uriEscapePath: false,
    });
    const { host } = new URL(local.aws.url);
    const signed = await signer.sign({
      method: 'GET',
      protocol: 'http:',
      hostname: host.split(':')[0],
      path: '/iam-site/app/index.html',
      query: {},
      headers: { host, range: 'bytes=0-3', 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' },
    });
    const send = (headers: Record<string, string>) =>
      fetch(`${local.aws.url}/iam-site/app/index.html`, { headers }).then(async (r) => `${r.status} ${await r.text()}`);
    const { host: _, ...headers } = signed.headers;
    expect(await send(headers)).toMatch(/^206 <h1>/);
    expect(await send({ ...headers, range: 'bytes=0-9' })).toMatch(/^403 .*<Code>SignatureDoesNotMatch<\/Code>/s);
  });

  it('a signature from 20 minutes ago: RequestTimeTooSkewed', async () => {
    const skewed = { credentials, systemClockOffset: -20 * 60 * 1000 };
    expect(await refusal(withClient(skewed, (s3) => s3.send(new GetObjectCommand(get))))).toBe(
      '403 RequestTimeTooSkewed: The difference between the request time and the current time is too large.',
    );
  });

  it("another session's token: InvalidToken", async () => {
    const forged = { ...credentials, sessionToken: 'forged' };
    expect(await refusal(withClient({ credentials: forged }, (s3) => s3.send(new GetObjectCommand(get))))).toBe(
      '403 InvalidToken: The security token included in the request is invalid.',
    );
  });
});

describe('services act with the roles they were given', () => {
  const PIPELINE = `
Resources:
  Artifacts:
    Type: AWS::S3::Bucket
    Properties: { BucketName: iam-artifacts }
  Project:
    Type: AWS::CodeBuild::Project
    Properties: { Name: web-build }
  Invalidate:
    Type: AWS::Lambda::Function
    Properties: { FunctionName: web-invalidate }
  PipelineRole:
    Type: AWS::IAM::Role
    Properties:
      Policies:
        - PolicyName: run
          PolicyDocument:
            Statement:
              - { Effect: Allow, Action: [codebuild:StartBuild, codebuild:BatchGetBuilds], Resource: !GetAtt Project.Arn }
              - { Effect: Allow, Action: lambda:InvokeFunction, Resource: !GetAtt Invalidate.Arn }
  Pipeline:
    Type: AWS::CodePipeline::Pipeline
    Properties:
      Name: iam-pipeline
      RoleArn: !GetAtt PipelineRole.Arn
      ArtifactStore: { Type: S3, Location: !Ref Artifacts }
      Stages:
        - Name: Build
          Actions:
            - Name: Deploy
              ActionTypeId: { Category: Build, Owner: AWS, Provider: CodeBuild, Version: '1' }
              Configuration: { ProjectName: !Ref Project }
              OutputArtifacts: [{ Name: DeployManifests }]
        - Name: Invalidate
          Actions:
            - Name: Invalidate
              ActionTypeId: { Category: Invoke, Owner: AWS, Provider: Lambda, Version: '1' }
              Configuration: { FunctionName: !Ref Invalidate, UserParameters: '{"wait":false}' }
              InputArtifacts: [{ Name: DeployManifests }]
        - Name: Batch
          Actions:
            - Name: DeployAll
              ActionTypeId: { Category: Build, Owner: AWS, Provider: CodeBuild, Version: '1' }
              Configuration: { ProjectName: !Ref Project, BatchEnabled: 'true' }
`;
  let pipelineRole: string;
  let executionId: string;
  beforeAll(async () => {
    const stack = await deployStack({ endpoint: local.aws.url, template: parseTemplate(PIPELINE), stackName: 'p' });
    pipelineRole = stack.properties.Pipeline.RoleArn;
    const codepipeline = new CodePipelineClient({});
    executionId = (await codepipeline.send(new StartPipelineExecutionCommand({ name: 'iam-pipeline' })))
      .pipelineExecutionId!;
    codepipeline.destroy();
  });
  const pipelineSession = () =>
    `arn:aws:sts::000000000000:assumed-role/${pipelineRole.split('/').pop()}/codepipeline-iam-pipeline`;

  it("CodePipeline starts a stage's build and invokes its Lambda as the pipeline role, each call decided and logged", async () => {
    await local.resetRequests();
    expect(await local.startStage(executionId, 'Build')).toEqual({
      actions: [{ name: 'Deploy', status: 'InProgress' }],
    });
    const { actions } = await local.startStage(executionId, 'Invalidate');
    const job = actions[0].job!.event['CodePipeline.job'].data;
    expect(job.actionConfiguration.configuration).toEqual({
      FunctionName: 'web-invalidate',
      UserParameters: '{"wait":false}',
    });
    expect(job.inputArtifacts[0].location.s3Location).toEqual({
      bucketName: 'iam-artifacts',
      objectKey: `iam-pipeline/DeployManifests/${executionId}.zip`,
    });
    const log = await local.requestLog();
    expect(log.map((r) => [r.operation, r.principal, r.authorizations?.map((a) => [a.resource, a.allowed])])).toEqual(
      [
        ['codebuild.StartBuild', 'codebuild.BatchGetBuilds'].map((operation) => [
          operation,
          pipelineSession(),
          [['arn:aws:codebuild:us-east-1:000000000000:project/web-build', true]],
        ]),
        [
          [
            'lambda.Invoke',
            pipelineSession(),
            [['arn:aws:lambda:us-east-1:000000000000:function:web-invalidate', true]],
          ],
        ],
      ].flat(),
    );
  });

  it('a call its role does not allow fails the action and the execution with the message CodePipeline shows', async () => {
    const { actions } = await local.startStage(executionId, 'Batch');
    expect(actions).toEqual([
      {
        name: 'DeployAll',
        status: 'Failed',
        errorDetails: {
          code: 'JobFailed',
          message: `Error calling startBuildBatch: User: ${pipelineSession()} is not authorized to perform: codebuild:StartBuildBatch on resource: "arn:aws:codebuild:us-east-1:000000000000:project/web-build" because no identity-based policy allows the codebuild:StartBuildBatch action (Service: AWSCodeBuild; Error Code: AccessDeniedException)`,
        },
      },
    ]);
    const codepipeline = new CodePipelineClient({});
    const { pipelineExecution } = await codepipeline
      .send(new GetPipelineExecutionCommand({ pipelineName: 'iam-pipeline', pipelineExecutionId: executionId }))
      .finally(() => codepipeline.destroy());
    expect(pipelineExecution?.status).toBe('Failed');
  });
});
