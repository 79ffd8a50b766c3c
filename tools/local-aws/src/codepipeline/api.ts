import { randomBytes, randomUUID } from 'node:crypto';
import { ACCOUNT, AwsError } from '../errors';
import type { LocalRequest, LocalResponse } from '../http';
import type { Roles } from '../iam/roles';
import type { ActAs, ServiceCall } from '../iam/service-actor';
import type { CodePipelineState, Job, JobRequest, PipelineExecution, PullRequestEvent } from './state';

/** Where the local CodePipeline keeps an execution's artifact in the artifact store: CodeBuild stand-ins write it there. */
export const artifactKey = (pipelineName: string, artifactName: string, pipelineExecutionId: string) =>
  `${pipelineName}/${artifactName}/${pipelineExecutionId}.zip`;

/** How a stage's action went when CodePipeline started it: a refusal of its calls fails it, as in AWS. */
export interface ActionStart {
  name: string;
  status: 'InProgress' | 'Failed';
  errorDetails?: { code: 'JobFailed'; message: string };
  /** An Invoke action's job: the event its Lambda function gets. */
  job?: { jobId: string; event: Job['event'] };
  /** A CodeBuild action's EnvironmentVariables, its #{namespace.Variable}s resolved: what the build gets. */
  environmentVariables?: Record<string, string>;
}

/** CodePipeline's JSON 1.1 API (`X-Amz-Target: CodePipeline_20150709.<Operation>`). */
export class CodePipelineService {
  constructor(
    readonly state: CodePipelineState,
    private readonly onChange: () => void,
    private readonly roles?: Roles,
    private readonly actAs?: ActAs,
  ) {}

  handle(ctx: LocalRequest): LocalResponse {
    let input: any;
    try {
      input = ctx.body.length ? JSON.parse(ctx.body.toString('utf8')) : {};
    } catch {
      throw new AwsError(400, 'SerializationException', 'The request body is not valid JSON.');
    }
    const handlers: Record<string, (input: any) => unknown> = {
      CreatePipeline: (i) => this.createPipeline(i),
      GetPipeline: (i) => ({ pipeline: this.pipeline(i.name).declaration, metadata: this.metadata(i.name) }),
      ListPipelines: () => ({
        pipelines: [...this.state.pipelines.keys()].map((name) => ({ name, ...this.metadata(name) })),
      }),
      StartPipelineExecution: (i) => this.startExecution(i),
      ListPipelineExecutions: (i) => this.listExecutions(i),
      GetPipelineExecution: (i) => ({ pipelineExecution: this.execution(i.pipelineName, i.pipelineExecutionId) }),
      PutJobSuccessResult: (i) => this.putJobSuccess(i),
      PutJobFailureResult: (i) => this.putJobFailure(i),
    };
    const run = handlers[ctx.operation];
    if (!run)
      throw new AwsError(
        400,
        'UnknownOperationException',
        `The local CodePipeline does not implement ${ctx.req.headers['x-amz-target'] || 'this request'}.`,
      );
    const output = run(input);
    this.onChange();
    return {
      status: 200,
      headers: { 'Content-Type': 'application/x-amz-json-1.1' },
      body: JSON.stringify(output ?? {}),
    };
  }

  createJob(request: JobRequest): Job {
    const pipelineName = request.pipelineName ?? 'local-pipeline';
    const id = randomUUID();
    const event = {
      'CodePipeline.job': {
        id,
        accountId: ACCOUNT,
        data: {
          actionConfiguration: {
            configuration: {
              FunctionName: request.functionName ?? 'invalidate',
              UserParameters: request.userParameters,
            },
          },
          inputArtifacts: (request.inputArtifacts ?? []).map((a) => ({
            name: a.name,
            revision: a.revision ?? null,
            location: { type: 'S3', s3Location: { bucketName: a.bucket, objectKey: a.key } },
          })),
          outputArtifacts: [],
          artifactCredentials: this.artifactCredentials(pipelineName),
          ...(request.continuationToken ? { continuationToken: request.continuationToken } : {}),
        },
      },
    };
    const job: Job = {
      id,
      pipelineName,
      pipelineExecutionId: request.pipelineExecutionId,
      status: 'InProgress',
      event,
    };
    this.state.jobs.set(id, job);
    this.onChange();
    return job;
  }

  /**
   * The short-lived credentials CodePipeline gives an action for its artifacts: a session of the pipeline's role
   * when a deployed template created it (the local AWS then authorizes the action's artifact reads as that role),
   * else keys that only stand for them.
   */
  private artifactCredentials(pipelineName: string) {
    const roleArn = this.state.pipelines.get(pipelineName)?.declaration.roleArn;
    const session =
      roleArn && this.roles?.get(roleArn)
        ? this.roles.assume(roleArn, `codepipeline-${pipelineName}`.slice(0, 64))
        : undefined;
    return {
      accessKeyId: session?.accessKeyId ?? `LOCAL${randomBytes(8).toString('hex').toUpperCase()}`,
      secretAccessKey: session?.secretAccessKey ?? randomBytes(20).toString('base64'),
      sessionToken: session?.sessionToken ?? randomBytes(32).toString('base64'),
      expirationTime: session?.expiration.getTime() ?? Date.now() + 3600_000,
    };
  }

  /**
   * What CodePipeline does when an execution reaches a stage, as the pipeline's role: for a CodeBuild action it
   * starts the project's build (a batch when the action is BatchEnabled) and follows it; for a Lambda Invoke
   * action it invokes the function with a job. The builds and the function themselves are the caller's to run.
   * A call the role may not make fails the action and the execution with the message CodePipeline shows.
   */
  async startStage(pipelineExecutionId: string, stageName: string): Promise<{ actions: ActionStart[] }> {
    const execution = this.state.executions.find((e) => e.pipelineExecutionId === pipelineExecutionId);
    if (!execution)
      throw new AwsError(404, 'PipelineExecutionNotFoundException', `Execution ${pipelineExecutionId} does not exist.`);
    const { declaration } = this.pipeline(execution.pipelineName);
    const stage = (declaration.stages ?? []).find((s: { name: string }) => s.name === stageName);
    if (!stage)
      throw new AwsError(
        400,
        'StageNotFoundException',
        `Pipeline ${execution.pipelineName} has no stage ${stageName}.`,
      );
    const actions: ActionStart[] = [];
    for (const action of stage.actions as PipelineAction[]) {
      const { calls, service } = callsToStart(action);
      const { refused } = this.actAs
        ? await this.actAs(declaration.roleArn, `codepipeline-${execution.pipelineName}`.slice(0, 64), calls)
        : {};
      if (refused) {
        const operation = refused.call.operation.split('.')[1];
        const message = `Error calling ${operation[0].toLowerCase()}${operation.slice(1)}: ${refused.message} (Service: ${service}; Error Code: AccessDeniedException)`;
        actions.push({ name: action.name, status: 'Failed', errorDetails: { code: 'JobFailed', message } });
        this.setExecutionStatus(pipelineExecutionId, 'Failed');
        break;
      }
      const job =
        action.actionTypeId.provider === 'Lambda'
          ? this.createJob({
              pipelineName: execution.pipelineName,
              pipelineExecutionId,
              actionName: action.name,
              functionName: action.configuration?.FunctionName,
              userParameters:
                action.configuration?.UserParameters &&
                this.resolved(action.configuration.UserParameters, pipelineExecutionId),
              inputArtifacts: (action.inputArtifacts ?? []).map(({ name }) => ({
                name,
                bucket: declaration.artifactStore.location,
                key: artifactKey(execution.pipelineName, name, pipelineExecutionId),
              })),
            })
          : undefined;
      const variables = action.configuration?.EnvironmentVariables;
      actions.push({
        name: action.name,
        status: 'InProgress',
        ...(job ? { job: { jobId: job.id, event: job.event } } : {}),
        ...(variables ? { environmentVariables: this.environmentVariables(variables, pipelineExecutionId) } : {}),
      });
    }
    return { actions };
  }

  /**
   * A pull request's event on the repository, as the host's webhook tells CodePipeline: each V2 pipeline whose
   * trigger has a pull-request filter that takes the event and the destination branch, on a source action of that
   * repository, starts an execution at the pull request's commit, its source action's variables (namespace)
   * PullRequestId, SourceBranchName, DestinationBranchName, PullRequestTitle, CommitId.
   */
  pullRequestEvent(event: PullRequestEvent): { executions: { pipelineName: string; pipelineExecutionId: string }[] } {
    const executions: { pipelineName: string; pipelineExecutionId: string }[] = [];
    for (const [pipelineName, { declaration }] of this.state.pipelines) {
      for (const trigger of declaration.triggers ?? []) {
        const git = trigger.gitConfiguration ?? {};
        const source = (declaration.stages ?? [])
          .flatMap((stage: { actions: PipelineAction[] }) => stage.actions)
          .find((action: PipelineAction) => action.name === git.sourceActionName);
        if (source?.configuration?.FullRepositoryId !== event.repository) continue;
        const takes = (git.pullRequest ?? []).some(
          (filter: { events?: string[]; branches?: { includes?: string[]; excludes?: string[] } }) =>
            (filter.events ?? ['OPEN', 'UPDATED']).includes(event.event) &&
            matchesBranch(filter.branches, event.destinationBranch),
        );
        if (!takes) continue;
        const { pipelineExecutionId } = this.startExecution({
          name: pipelineName,
          sourceRevisions: [{ actionName: source.name, revisionValue: event.commit }],
          triggerType: 'WebhookV2',
        });
        if (source.namespace)
          this.state.variables.set(pipelineExecutionId, {
            [source.namespace]: {
              PullRequestId: String(event.number),
              SourceBranchName: event.sourceBranch,
              DestinationBranchName: event.destinationBranch,
              PullRequestTitle: event.title ?? '',
              CommitId: event.commit,
              FullRepositoryName: event.repository,
            },
          });
        executions.push({ pipelineName, pipelineExecutionId });
      }
    }
    this.onChange();
    return { executions };
  }

  setExecutionStatus(pipelineExecutionId: string, status: PipelineExecution['status']): PipelineExecution {
    const execution = this.state.executions.find((e) => e.pipelineExecutionId === pipelineExecutionId);
    if (!execution)
      throw new AwsError(404, 'PipelineExecutionNotFoundException', `Execution ${pipelineExecutionId} does not exist.`);
    execution.status = status;
    execution.lastUpdateTime = Date.now() / 1000;
    this.onChange();
    return execution;
  }

  private metadata(name: string) {
    const p = this.pipeline(name);
    return { pipelineArn: `arn:aws:codepipeline:us-east-1:${ACCOUNT}:${name}`, created: p.created, updated: p.updated };
  }

  private pipeline(name: string) {
    const pipeline = this.state.pipelines.get(name);
    if (!pipeline)
      throw new AwsError(
        400,
        'PipelineNotFoundException',
        `Account '${ACCOUNT}' does not have a pipeline with name '${name}'`,
      );
    return pipeline;
  }

  private createPipeline(input: any) {
    const name = input?.pipeline?.name;
    if (!name) throw new AwsError(400, 'ValidationException', 'pipeline.name is required.');
    if (this.state.pipelines.has(name))
      throw new AwsError(400, 'InvalidStructureException', `A pipeline with name '${name}' already exists.`);
    const declaration = { version: 1, ...input.pipeline };
    const now = Date.now() / 1000;
    this.state.pipelines.set(name, { declaration, created: now, updated: now });
    return { pipeline: declaration, tags: input.tags ?? [] };
  }

  /** A CodeBuild action's EnvironmentVariables (JSON), each value resolved. */
  private environmentVariables(json: string, pipelineExecutionId: string): Record<string, string> {
    const variables = JSON.parse(json) as { name: string; value: string }[];
    return Object.fromEntries(variables.map((v) => [v.name, this.resolved(v.value, pipelineExecutionId)]));
  }

  /** A value of an action's configuration with #{codepipeline.PipelineExecutionId} and #{ns.Name} resolved. */
  private resolved(value: string, pipelineExecutionId: string): string {
    const namespaces = {
      ...this.state.variables.get(pipelineExecutionId),
      codepipeline: { PipelineExecutionId: pipelineExecutionId },
    } as Record<string, Record<string, string>>;
    return value.replace(/#\{([\w-]+)\.([\w-]+)\}/g, (reference, namespace: string, name: string) => {
      const found = namespaces[namespace]?.[name];
      if (found === undefined)
        throw new AwsError(
          400,
          'InvalidActionDeclarationException',
          `${reference} resolves to nothing in this execution.`,
        );
      return found;
    });
  }

  private startExecution(input: any) {
    this.pipeline(input.name);
    const now = Date.now() / 1000;
    const execution: PipelineExecution = {
      pipelineName: input.name,
      pipelineExecutionId: randomUUID(),
      status: 'InProgress',
      startTime: now,
      lastUpdateTime: now,
      sourceRevisions: (input.sourceRevisions ?? []).map((r: any) => ({
        actionName: r.actionName,
        revisionId: r.revisionValue,
      })),
      trigger: { triggerType: input.triggerType ?? 'StartPipelineExecution' },
    };
    this.state.executions.push(execution);
    return { pipelineExecutionId: execution.pipelineExecutionId };
  }

  private execution(pipelineName: string, id: string): PipelineExecution {
    this.pipeline(pipelineName);
    const execution = this.state.executions.find(
      (e) => e.pipelineName === pipelineName && e.pipelineExecutionId === id,
    );
    if (!execution)
      throw new AwsError(
        400,
        'PipelineExecutionNotFoundException',
        `Pipeline execution '${id}' not found in pipeline '${pipelineName}'.`,
      );
    return execution;
  }

  private listExecutions(input: any) {
    this.pipeline(input.pipelineName);
    const maxResults = Math.min(Number(input.maxResults ?? 100), 100);
    const newestFirst = this.state.executions.filter((e) => e.pipelineName === input.pipelineName).reverse();
    const start = input.nextToken ? Number(Buffer.from(input.nextToken, 'base64url').toString('utf8')) : 0;
    if (!Number.isInteger(start) || start < 0)
      throw new AwsError(400, 'InvalidNextTokenException', 'The next token was specified in an invalid format.');
    const page = newestFirst.slice(start, start + maxResults);
    const next =
      start + maxResults < newestFirst.length
        ? Buffer.from(String(start + maxResults)).toString('base64url')
        : undefined;
    return {
      pipelineExecutionSummaries: page.map(({ pipelineName: _pipelineName, ...summary }) => summary),
      ...(next ? { nextToken: next } : {}),
    };
  }

  private job(jobId: string): Job {
    const job = this.state.jobs.get(jobId);
    if (!job) throw new AwsError(400, 'JobNotFoundException', `Job ${jobId} was not found.`);
    if (job.status !== 'InProgress')
      throw new AwsError(400, 'InvalidJobStateException', `Job ${jobId} is already ${job.status}.`);
    return job;
  }

  private putJobSuccess(input: any) {
    const job = this.job(input.jobId);
    if (input.continuationToken) {
      // CodePipeline invokes the action again later with a new job that carries the token.
      job.continuationToken = input.continuationToken;
      job.status = 'Succeeded';
    } else {
      job.status = 'Succeeded';
      job.executionDetails = input.executionDetails;
      job.outputVariables = input.outputVariables;
      if (job.pipelineExecutionId) this.setExecutionStatus(job.pipelineExecutionId, 'Succeeded');
    }
    return {};
  }

  private putJobFailure(input: any) {
    const job = this.job(input.jobId);
    if (!input.failureDetails?.type || typeof input.failureDetails?.message !== 'string') {
      throw new AwsError(400, 'ValidationException', 'failureDetails.type and failureDetails.message are required.');
    }
    job.status = 'Failed';
    job.failureDetails = input.failureDetails;
    if (job.pipelineExecutionId) this.setExecutionStatus(job.pipelineExecutionId, 'Failed');
    return {};
  }
}

/** Whether a pull-request filter's branch globs (CodePipeline's: `*` any run of characters) take `branch`. */
function matchesBranch(branches: { includes?: string[]; excludes?: string[] } | undefined, branch: string): boolean {
  const matches = (glob: string) =>
    new RegExp(`^${glob.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`).test(branch);
  if (branches?.excludes?.some(matches)) return false;
  return !branches?.includes?.length || branches.includes.some(matches);
}

interface PipelineAction {
  name: string;
  namespace?: string;
  actionTypeId: { category: string; provider: string };
  configuration?: Record<string, string>;
  inputArtifacts?: { name: string }[];
}

/** The calls CodePipeline makes to start an action and follow it (what its role must allow, as the AWS CDK grants). */
function callsToStart(action: PipelineAction): { calls: ServiceCall[]; service: string } {
  const region = 'us-east-1';
  // The API operation, and the IAM action it is authorized as (the same name, but for Lambda's Invoke).
  const call = (operation: string, resource: string, action = operation.replace('.', ':')): ServiceCall => ({
    operation,
    check: { action, resource, context: { 'aws:SecureTransport': 'true' } },
  });
  const configuration = action.configuration ?? {};
  if (action.actionTypeId.provider === 'CodeBuild') {
    const project = `arn:aws:codebuild:${region}:${ACCOUNT}:project/${configuration.ProjectName}`;
    const batch = configuration.BatchEnabled === 'true';
    return {
      service: 'AWSCodeBuild',
      calls: [
        call(batch ? 'codebuild.StartBuildBatch' : 'codebuild.StartBuild', project),
        call(batch ? 'codebuild.BatchGetBuildBatches' : 'codebuild.BatchGetBuilds', project),
      ],
    };
  }
  if (action.actionTypeId.provider === 'Lambda')
    return {
      service: 'AWSLambda',
      calls: [
        call(
          'lambda.Invoke',
          `arn:aws:lambda:${region}:${ACCOUNT}:function:${configuration.FunctionName}`,
          'lambda:InvokeFunction',
        ),
      ],
    };
  return { service: action.actionTypeId.provider, calls: [] };
}
