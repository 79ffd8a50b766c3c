export interface SourceRevision {
  actionName: string;
  revisionId: string;
  revisionSummary?: string;
  revisionUrl?: string;
}

export interface PipelineExecution {
  pipelineName: string;
  pipelineExecutionId: string;
  status: 'InProgress' | 'Stopped' | 'Stopping' | 'Succeeded' | 'Superseded' | 'Failed';
  startTime: number;
  lastUpdateTime: number;
  sourceRevisions: SourceRevision[];
  trigger: { triggerType: string; triggerDetail?: string };
}

/** A job of an Invoke action; the handler under test ends it with PutJobSuccessResult/PutJobFailureResult. */
export interface Job {
  id: string;
  pipelineName: string;
  pipelineExecutionId?: string;
  status: 'InProgress' | 'Succeeded' | 'Failed';
  continuationToken?: string;
  failureDetails?: { type: string; message: string; externalExecutionId?: string };
  executionDetails?: unknown;
  outputVariables?: Record<string, string>;
  event: { 'CodePipeline.job': any };
}

/** A pull request's event on the repository host, which CodePipeline V2's pull-request triggers start pipelines on. */
export interface PullRequestEvent {
  /** owner/name, as the source action's FullRepositoryId names it. */
  repository: string;
  event: 'OPEN' | 'UPDATED' | 'CLOSED';
  number: number;
  sourceBranch: string;
  destinationBranch: string;
  /** The pull request's head commit: the source revision of the executions it starts. */
  commit: string;
  title?: string;
}

export interface JobRequest {
  pipelineName?: string;
  pipelineExecutionId?: string;
  actionName?: string;
  functionName?: string;
  userParameters?: string;
  inputArtifacts?: { name: string; bucket: string; key: string; revision?: string }[];
  /** Set when CodePipeline re-invokes an action that answered with a continuation token. */
  continuationToken?: string;
}

export class CodePipelineState {
  readonly pipelines = new Map<string, { declaration: any; created: number; updated: number }>();
  readonly executions: PipelineExecution[] = [];
  readonly jobs = new Map<string, Job>();
  /** The variables each execution's actions produced, by namespace (the source action's of a pull request). */
  readonly variables = new Map<string, Record<string, Record<string, string>>>();

  toJSON() {
    return {
      pipelines: [...this.pipelines.entries()],
      executions: this.executions,
      jobs: [...this.jobs.values()],
      variables: [...this.variables.entries()],
    };
  }

  restore(saved: ReturnType<CodePipelineState['toJSON']>): void {
    for (const [name, p] of saved.pipelines) this.pipelines.set(name, p);
    this.executions.push(...saved.executions);
    for (const job of saved.jobs) this.jobs.set(job.id, job);
    for (const [id, v] of saved.variables ?? []) this.variables.set(id, v);
  }
}
