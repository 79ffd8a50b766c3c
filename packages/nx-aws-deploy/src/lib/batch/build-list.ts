import { getProjects, joinPathFragments, type Tree } from '@nx/devkit';
import { DEPLOY_CONFIG_FILE, PLUGIN_NAME } from '../../plugins/deploy-targets';

/**
 * CodeBuild batch builds (`batch: build-list` in buildspec.yml): one build per project this plugin deploys, each
 * told its project by NX_AWS_DEPLOY_PROJECT; the buildspec finds that project's bucket and distribution in the
 * SITE_BUCKET_<KEY> / DISTRIBUTION_ID_<KEY> variables the generated template sets on the CodeBuild project.
 */
export interface BatchBuild {
  identifier: string;
  env: { variables: { NX_AWS_DEPLOY_PROJECT: string } };
}

/** Projects with a deploy-s3 target or an nx-aws-deploy.json (the inferred one), sorted. */
export function deployableProjects(tree: Tree): string[] {
  const names: string[] = [];
  for (const [name, project] of getProjects(tree)) {
    const executorTarget = Object.values(project.targets ?? {}).some((t) => t.executor === `${PLUGIN_NAME}:deploy-s3`);
    if (executorTarget || tree.exists(joinPathFragments(project.root, DEPLOY_CONFIG_FILE))) names.push(name);
  }
  return names.sort();
}

/** The suffix of a project's variables: FRONTEND for frontend, MY_APP for my-app or @acme/my.app… */
export function variableKey(project: string): string {
  return project.toUpperCase().replace(/[^A-Z0-9]/g, '_');
}

/** CodeBuild build identifiers take letters, digits and underscores. */
export function buildIdentifier(project: string): string {
  return `deploy_${project.replace(/[^A-Za-z0-9]/g, '_')}`;
}

export function batchBuildList(projects: readonly string[]): BatchBuild[] {
  return projects.map((project) => ({
    identifier: buildIdentifier(project),
    env: { variables: { NX_AWS_DEPLOY_PROJECT: project } },
  }));
}

/** A logical-id prefix of CloudFormation (letters and digits): Frontend for frontend, MyApp for my-app. */
export function resourcePrefix(project: string): string {
  return project
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((part) => part[0].toUpperCase() + part.slice(1))
    .join('');
}
