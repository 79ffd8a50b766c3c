import {
  CodePipelineClient,
  CreatePipelineCommand,
  StartPipelineExecutionCommand,
  ListPipelineExecutionsCommand,
  GetPipelineExecutionCommand,
  PutJobSuccessResultCommand,
  PutJobFailureResultCommand,
  paginateListPipelineExecutions,
} from '@aws-sdk/client-codepipeline';
import { startLocalAws, type LocalAwsHarness } from '../src/testing';

let local: LocalAwsHarness;
let codepipeline: CodePipelineClient;

const pipeline = (name: string) => ({
  name,
  roleArn: 'arn:aws:iam::000000000000:role/pipeline',
  artifactStore: { type: 'S3' as const, location: 'artifacts' },
  stages: [
    {
      name: 'Source',
      actions: [
        {
          name: 'Source',
          actionTypeId: {
            category: 'Source' as const,
            owner: 'AWS' as const,
            provider: 'CodeStarSourceConnection',
            version: '1',
          },
        },
      ],
    },
    {
      name: 'Invalidate',
      actions: [
        {
          name: 'Invalidate',
          actionTypeId: { category: 'Invoke' as const, owner: 'AWS' as const, provider: 'Lambda', version: '1' },
        },
      ],
    },
  ],
});
const errorOf = async (p: Promise<unknown>) =>
  p.then(
    () => {
      throw new Error('expected the call to fail');
    },
    (e) => e,
  );

beforeAll(async () => {
  local = await startLocalAws();
  codepipeline = new CodePipelineClient({});
  await codepipeline.send(new CreatePipelineCommand({ pipeline: pipeline('web') }));
});
afterAll(async () => {
  codepipeline.destroy();
  await local.stop();
});

it('starts executions with source revisions and lists them newest first, paginated', async () => {
  const ids: string[] = [];
  for (let i = 0; i < 5; i++) {
    const { pipelineExecutionId } = await codepipeline.send(
      new StartPipelineExecutionCommand({
        name: 'web',
        sourceRevisions: [{ actionName: 'Source', revisionType: 'COMMIT_ID', revisionValue: `sha${i}` }],
      }),
    );
    ids.push(pipelineExecutionId!);
  }
  const seen = [];
  for await (const page of paginateListPipelineExecutions(
    { client: codepipeline, pageSize: 2 },
    { pipelineName: 'web' },
  )) {
    seen.push(...page.pipelineExecutionSummaries!);
  }
  expect(seen.map((e) => e.pipelineExecutionId)).toEqual([...ids].reverse());
  expect(seen[0]).toMatchObject({
    status: 'InProgress',
    sourceRevisions: [{ actionName: 'Source', revisionId: 'sha4' }],
  });
  expect(seen[0].startTime).toBeInstanceOf(Date);
  const got = await codepipeline.send(
    new GetPipelineExecutionCommand({ pipelineName: 'web', pipelineExecutionId: ids[0] }),
  );
  expect(got.pipelineExecution!.pipelineExecutionId).toBe(ids[0]);
  expect((await errorOf(codepipeline.send(new ListPipelineExecutionsCommand({ pipelineName: 'nope' })))).name).toBe(
    'PipelineNotFoundException',
  );
});

it('hands an invoke action a real-shaped CodePipeline.job event and records success, continuation and failure', async () => {
  const { pipelineExecutionId } = await codepipeline.send(new StartPipelineExecutionCommand({ name: 'web' }));
  const { jobId, event } = await local.createJob({
    pipelineName: 'web',
    pipelineExecutionId,
    userParameters: '{"distributionId":"E1"}',
    inputArtifacts: [{ name: 'BuildOutput', bucket: 'artifacts', key: 'web/BuildOutput/abc.zip' }],
  });
  const job = event['CodePipeline.job'];
  expect(job.id).toBe(jobId);
  expect(job.data.actionConfiguration.configuration.UserParameters).toBe('{"distributionId":"E1"}');
  expect(job.data.inputArtifacts[0].location.s3Location).toEqual({
    bucketName: 'artifacts',
    objectKey: 'web/BuildOutput/abc.zip',
  });
  expect(Object.keys(job.data.artifactCredentials).sort()).toEqual([
    'accessKeyId',
    'expirationTime',
    'secretAccessKey',
    'sessionToken',
  ]);

  await codepipeline.send(new PutJobSuccessResultCommand({ jobId, continuationToken: 'I123' }));
  expect(await local.job(jobId)).toMatchObject({ status: 'Succeeded', continuationToken: 'I123' });
  const next = await local.createJob({
    pipelineName: 'web',
    pipelineExecutionId,
    continuationToken: 'I123',
    userParameters: '{}',
  });
  expect(next.event['CodePipeline.job'].data.continuationToken).toBe('I123');
  await codepipeline.send(new PutJobSuccessResultCommand({ jobId: next.jobId }));
  const execution = await codepipeline.send(
    new GetPipelineExecutionCommand({ pipelineName: 'web', pipelineExecutionId }),
  );
  expect(execution.pipelineExecution!.status).toBe('Succeeded');
  expect((await errorOf(codepipeline.send(new PutJobSuccessResultCommand({ jobId })))).name).toBe(
    'InvalidJobStateException',
  );

  const failing = await local.createJob({ pipelineName: 'web', userParameters: 'not json' });
  await codepipeline.send(
    new PutJobFailureResultCommand({
      jobId: failing.jobId,
      failureDetails: { type: 'ConfigurationError', message: 'UserParameters is not JSON' },
    }),
  );
  expect(await local.job(failing.jobId)).toMatchObject({
    status: 'Failed',
    failureDetails: { type: 'ConfigurationError', message: 'UserParameters is not JSON' },
  });
  expect((await errorOf(codepipeline.send(new PutJobSuccessResultCommand({ jobId: 'no-such-job' })))).name).toBe(
    'JobNotFoundException',
  );
});

it("fires a pull request's events: the V2 pipelines whose trigger takes the event and branch start, the build action gets the source action's variables", async () => {
  const withTrigger = (name: string, events: ('OPEN' | 'UPDATED' | 'CLOSED')[]) => ({
    ...pipeline(name),
    pipelineType: 'V2' as const,
    triggers: [
      {
        providerType: 'CodeStarSourceConnection' as const,
        gitConfiguration: {
          sourceActionName: 'Source',
          pullRequest: [{ events, branches: { includes: ['main', 'release/*'] } }],
        },
      },
    ],
    stages: [
      {
        name: 'Source',
        actions: [
          {
            ...pipeline(name).stages[0].actions[0],
            namespace: 'SourceVariables',
            configuration: { FullRepositoryId: 'acme/web', BranchName: 'main' },
          },
        ],
      },
      {
        name: 'Preview',
        actions: [
          {
            name: 'Build',
            actionTypeId: { category: 'Build' as const, owner: 'AWS' as const, provider: 'CodeBuild', version: '1' },
            configuration: {
              ProjectName: 'preview',
              EnvironmentVariables: JSON.stringify([
                { name: 'PULL_REQUEST_ID', value: '#{SourceVariables.PullRequestId}', type: 'PLAINTEXT' },
                { name: 'BASE', value: '#{SourceVariables.DestinationBranchName}', type: 'PLAINTEXT' },
                { name: 'EXECUTION', value: '#{codepipeline.PipelineExecutionId}', type: 'PLAINTEXT' },
              ]),
            },
          },
        ],
      },
    ],
  });
  await codepipeline.send(new CreatePipelineCommand({ pipeline: withTrigger('previews', ['OPEN', 'UPDATED']) }));
  await codepipeline.send(new CreatePipelineCommand({ pipeline: withTrigger('closed', ['CLOSED']) }));
  const event = {
    repository: 'acme/web',
    number: 12,
    sourceBranch: 'feature',
    destinationBranch: 'release/2',
    commit: 'abc123',
  };
  const opened = await local.pullRequest({ ...event, event: 'OPEN' });
  expect(opened.executions.map((e) => e.pipelineName)).toEqual(['previews']);
  const id = opened.executions[0].pipelineExecutionId;
  const listed = await codepipeline.send(new ListPipelineExecutionsCommand({ pipelineName: 'previews' }));
  expect(listed.pipelineExecutionSummaries).toMatchObject([
    { pipelineExecutionId: id, trigger: { triggerType: 'WebhookV2' }, sourceRevisions: [{ revisionId: 'abc123' }] },
  ]);
  const { actions } = await local.startStage(id, 'Preview');
  expect(actions[0].environmentVariables).toEqual({ PULL_REQUEST_ID: '12', BASE: 'release/2', EXECUTION: id });
  expect((await local.pullRequest({ ...event, event: 'CLOSED' })).executions.map((e) => e.pipelineName)).toEqual([
    'closed',
  ]);
  // Another destination branch, another repository: nothing starts.
  expect((await local.pullRequest({ ...event, event: 'OPEN', destinationBranch: 'dev' })).executions).toEqual([]);
  expect((await local.pullRequest({ ...event, event: 'OPEN', repository: 'acme/other' })).executions).toEqual([]);
});
