/** The parts of a CodePipeline execution summary that decide the base commit. */
export interface ExecutionSummary {
  status?: string;
  sourceRevisions?: { actionName?: string; revisionId?: string }[];
}

/**
 * The source revision of the newest Succeeded execution (executions are listed newest first), for the
 * given source action or the only one there is. Failed, stopped and in-progress executions never count:
 * what they carried has not been deployed yet.
 */
export function lastSucceededRevision(executions: ExecutionSummary[], sourceAction?: string): string | undefined {
  for (const execution of executions) {
    if (execution.status !== 'Succeeded') continue;
    const revisions = execution.sourceRevisions ?? [];
    const revision = sourceAction
      ? revisions.find((r) => r.actionName === sourceAction)
      : revisions.length === 1
        ? revisions[0]
        : undefined;
    if (revision?.revisionId) return revision.revisionId;
  }
  return undefined;
}

/** The pipeline that started this CodeBuild build (`CODEBUILD_INITIATOR=codepipeline/<name>`), if any. */
export function pipelineFromInitiator(initiator: string | undefined): string | undefined {
  return initiator?.startsWith('codepipeline/') ? initiator.slice('codepipeline/'.length) : undefined;
}

/** Shell lines for `eval "$(node_modules/.bin/nx-aws-deploy set-shas)"`. */
export function shellExports(values: Record<string, string>): string {
  return Object.entries(values)
    .map(
      ([name, value]) =>
        `export ${name}=${/^[A-Za-z0-9._/-]*$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`}`,
    )
    .join('\n');
}
