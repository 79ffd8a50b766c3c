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
