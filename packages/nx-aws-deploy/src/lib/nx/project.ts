import { isAbsolute, join } from 'node:path';
import type { ExecutorContext } from '@nx/devkit';
import { UserError } from '../util/errors';

/** Absolute path of a workspace-relative (or absolute) path option. */
export function workspacePath(context: ExecutorContext, path: string): string {
  return isAbsolute(path) ? path : join(context.root, path);
}

/** The first output folder of the project's build target, as the project graph declares it. */
export function buildOutputDir(context: ExecutorContext): string {
  const project = context.projectsConfigurations.projects[context.projectName!];
  const build = project?.targets?.build;
  const output = build?.outputs?.[0];
  if (!output) {
    throw new UserError(
      `Project ${context.projectName} has no build target with "outputs" to deploy from; set the "sourceDir" option.`,
    );
  }
  const interpolated = output
    .replace('{projectRoot}', project.root)
    .replace('{projectName}', context.projectName!)
    .replace(/\{options\.([^}]+)\}/g, (_, name: string) =>
      String((build.options as Record<string, unknown> | undefined)?.[name] ?? ''),
    )
    .replace(/^\{workspaceRoot\}\/?/, '');
  return workspacePath(context, interpolated);
}
