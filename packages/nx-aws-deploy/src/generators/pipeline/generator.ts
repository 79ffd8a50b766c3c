import { readFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import {
  formatFiles,
  generateFiles,
  getProjects,
  joinPathFragments,
  logger,
  normalizePath,
  readNxJson,
  updateNxJson,
  type ProjectConfiguration,
  type Tree,
} from '@nx/devkit';
import { parse } from 'yaml';
import { checkBucketName } from '../../lib/bucket/name';
import { deployableProjects, resourcePrefix, variableKey } from '../../lib/batch/build-list';
import { SYNC_GENERATOR, updateBatchList } from '../sync-batch/generator';
import { UserError } from '../../lib/util/errors';
import { DEPLOY_CONFIG_FILE, PLUGIN_NAME } from '../../plugins/deploy-targets';
import { initGenerator } from '../init/generator';
import { releasePinCode, releaseRouterCode } from './cloudfront-function/release-router';
import type { PipelineGeneratorSchema } from './schema';

/** Where the built package ships the invalidation Lambda (packages/pipeline-invalidate-lambda), from the workspace root. */
export const LAMBDA_ZIP_IN_NODE_MODULES = `node_modules/${PLUGIN_NAME}/lambda/function.zip`;
/** The buildspec the generated pipelines run (--batch adds its build list, which nx sync keeps). */
export const BUILDSPEC_TEMPLATE_FILE = join(__dirname, 'files', 'buildspec', 'buildspec.yml');

/** Part of stack, role and function names: short, and valid in all of them. */
const ENVIRONMENT_NAME = /^[a-z][a-z0-9-]{0,15}$/;
const REPOSITORY_ID = /^[^/\s]+\/[^/\s]+$/;
const CONNECTION_ARN =
  /^arn:aws[a-z-]*:(codeconnections|codestar-connections):[a-z0-9-]+:[0-9]{12}:connection\/[0-9a-f-]+$/;
/** The PreviewDomain parameter's AllowedPattern: DNS labels of lower-case letters, digits and hyphens. */
const PREVIEW_DOMAIN = /^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;
/** Config files from which Nx plugins (@nx/vite, @nx/webpack, @nx/next, …) infer a build target. */
const INFERRED_BUILD_CONFIG = /^(vite|webpack|rspack|rsbuild|next|astro|svelte|nuxt)\.config\.[cm]?[jt]s$/;

/**
 * `nx g nx-aws-deploy:pipeline --project=frontend --environment=prod`: the affected-driven buildspec.yml and a
 * CloudFormation template for the bucket, distribution, pipeline, invalidation Lambda and their least-privilege
 * roles. Registers the plugin and gives the project a deploy target when it has none.
 */
export async function pipelineGenerator(tree: Tree, options: PipelineGeneratorSchema): Promise<void> {
  const o = normalizeOptions(tree, options);
  await initGenerator(tree, { skipFormat: true });
  if (
    o.projectConfig &&
    !o.projectConfig.targets?.deploy &&
    !tree.exists(joinPathFragments(o.projectConfig.root, DEPLOY_CONFIG_FILE))
  ) {
    // The inferred deploy target; in the pipeline, CodeBuild passes the bucket and distribution.
    tree.write(joinPathFragments(o.projectConfig.root, DEPLOY_CONFIG_FILE), '{}\n');
  }
  if (tree.exists('buildspec.yml')) {
    // Ours with or without a build list: the list is the sync generator's to keep.
    const withoutBuildList = (text: string) => ({ ...parse(text), batch: undefined });
    const ours = withoutBuildList(readFileSync(BUILDSPEC_TEMPLATE_FILE, 'utf8'));
    if (!isDeepStrictEqual(withoutBuildList(tree.read('buildspec.yml', 'utf8')!), ours))
      logger.warn(
        `Kept your buildspec.yml; the pipeline expects the one in ${PLUGIN_NAME}'s pipeline generator (it reads SITE_BUCKET, DISTRIBUTION_ID and DEPLOY_PROJECTS).`,
      );
  } else {
    generateFiles(tree, join(__dirname, 'files', 'buildspec'), '.', {});
  }
  if (o.batch) {
    updateBatchList(tree, true);
    // `nx sync` keeps the build list in step with the projects; `nx sync:check` in the buildspec checks it.
    const nxJson = readNxJson(tree) ?? {};
    const generators = nxJson.sync?.globalGenerators ?? [];
    if (!generators.includes(SYNC_GENERATOR))
      updateNxJson(tree, { ...nxJson, sync: { ...nxJson.sync, globalGenerators: [...generators, SYNC_GENERATOR] } });
  }
  const templatePath = joinPathFragments(o.directory, `${o.project}-${o.environment}.yml`);
  // A site's release router (its live release in the stack's store; in dev also Storybook under /storybook/) and
  // release pin, indented for the template; none in place outside dev.
  const siteFunctions = (key: string, storybook: boolean, previews: boolean) => ({
    router:
      o.atomic || storybook ? indent(releaseRouterCode({ site: key, storybook, spa: o.spaFallback, previews }), 8) : '',
    pin: o.atomic ? indent(releasePinCode(key, previews), 8) : '',
  });
  // The sites the build deploys (one, or with --batch one per project, resources prefixed by its name), and the
  // one --promoteTo ships the tested bytes to (resources prefixed "Promote").
  const deploySites = o.projects.map((project) => ({
    id: o.batch ? resourcePrefix(project) : '',
    project,
    key: variableKey(project),
    environment: o.environment,
    bucket: o.batch ? '' : o.bucket,
    // Storybook under /storybook/ in dev.
    storybook: o.environment === 'dev',
    ...siteFunctions(project, o.environment === 'dev', o.previews),
    // Its previews' hosts: pr-<n>.<PreviewDomain>, or with --batch pr-<n>.<app>.<PreviewDomain>.
    previews: o.previews,
    previewHost: o.batch ? `${dnsLabel(project)}.` : '',
  }));
  // Promoted to as the environment deploys (atomic: its own key in the store, `<project>-<promoteTo>`).
  const promotedKey = `${o.project}-${o.promoteTo}`;
  const promoteSite = o.promoteTo
    ? [
        {
          ...{ id: 'Promote', project: o.project, key: '', environment: o.promoteTo, bucket: '', storybook: false },
          ...{ previews: false, previewHost: '' },
          ...siteFunctions(promotedKey, false, false),
        },
      ]
    : [];
  generateFiles(tree, join(__dirname, 'files', 'infra'), o.directory, {
    tmpl: '',
    project: o.project,
    projects: o.projects.join(', '),
    batch: o.batch,
    environment: o.environment,
    bucket: o.bucket,
    repository: o.repository,
    branch: o.branch,
    connectionArn: o.connectionArn,
    spaFallback: o.spaFallback,
    atomic: o.atomic,
    previews: o.previews,
    previewDomain: o.previewDomain,
    previewDomainPattern: PREVIEW_DOMAIN.source,
    templatePath,
    // `aws cloudformation package` resolves this path from the template's folder.
    lambdaZipPath: posix.relative(o.directory, LAMBDA_ZIP_IN_NODE_MODULES),
    promoteTo: o.promoteTo,
    // The environment's site, and the one its tested releases are promoted to (resources prefixed "Promote").
    sites: [...deploySites, ...promoteSite],
    deploySites,
  });
  if (!options.skipFormat) await formatFiles(tree);
  logger.info(
    [
      `Wrote ${templatePath}. Create the stack (once a CodeConnections connection to your repository is authorised):`,
      `  aws cloudformation package --template-file ${templatePath} --s3-bucket <bucket-for-templates> --output-template-file packaged.yml`,
      `  aws cloudformation deploy --template-file packaged.yml --stack-name ${o.project}-${o.environment} --capabilities CAPABILITY_IAM --parameter-overrides ConnectionArn=<arn> RepositoryId=<owner/repo>${o.previews ? ` PreviewCertificateArn=<arn>${o.previewDomain ? '' : ' PreviewDomain=<domain>'}` : ''}`,
    ].join('\n'),
  );
}

interface NormalizedOptions {
  /** The stack's name part: the project, or with --batch the given name ("sites" by default). */
  project: string;
  /** The project without --batch. */
  projectConfig?: ProjectConfiguration;
  /** The projects the build deploys. */
  projects: string[];
  batch: boolean;
  environment: string;
  bucket: string;
  repository: string;
  branch: string;
  connectionArn: string;
  spaFallback: boolean;
  atomic: boolean;
  previews: boolean;
  previewDomain: string;
  directory: string;
  promoteTo: string;
}

/** Every option checked before anything is written: one error that names the option and what to do. */
function normalizeOptions(tree: Tree, options: PipelineGeneratorSchema): NormalizedOptions {
  if (options.batch) {
    if (options.promoteTo)
      throw new UserError('--promoteTo works with one project; with --batch, generate the promotion per project.');
    if (options.bucket)
      throw new UserError("--bucket names one project's bucket; with --batch, CloudFormation names each project's.");
    const projects = deployableProjects(tree);
    if (!projects.length)
      throw new UserError(
        '--batch: no project deploys with nx-aws-deploy yet; give one a deploy-s3 target or an nx-aws-deploy.json (nx g nx-aws-deploy:init --project=<name> --bucket=<bucket>).',
      );
    checkDistinct(projects, variableKey, 'variables');
    checkDistinct(projects, resourcePrefix, 'CloudFormation names');
    return { ...commonOptions(options), project: options.project ?? 'sites', projects, batch: true };
  }
  if (!options.project) throw new UserError('--project is required (or --batch, for every project that deploys).');
  const projectConfig = getProjects(tree).get(options.project);
  if (!projectConfig)
    throw new UserError(
      `--project: "${options.project}" is not a project in this workspace; see \`nx show projects\`.`,
    );
  if (!hasBuild(tree, projectConfig)) {
    throw new UserError(
      `--project: "${options.project}" has no build target, so there is nothing to deploy; add a "build" target whose "outputs" is the site folder.`,
    );
  }
  return {
    ...commonOptions(options),
    project: options.project,
    projectConfig,
    projects: [options.project],
    batch: false,
  };
}

/** Two projects whose names give the same variable or resource names cannot share a batch pipeline. */
function checkDistinct(projects: string[], name: (project: string) => string, what: string): void {
  const seen = new Map<string, string>();
  for (const project of projects) {
    const other = seen.get(name(project));
    if (other)
      throw new UserError(
        `--batch: projects "${other}" and "${project}" would share the ${what} ${name(project)}; rename one of them.`,
      );
    seen.set(name(project), project);
  }
}

function commonOptions(
  options: PipelineGeneratorSchema,
): Omit<NormalizedOptions, 'project' | 'projectConfig' | 'projects' | 'batch'> {
  const environment = options.environment ?? 'prod';
  if (!ENVIRONMENT_NAME.test(environment)) {
    throw new UserError(
      `--environment: "${environment}" must start with a lower-case letter and have at most 16 lower-case letters, digits and hyphens (it is part of the stack name), e.g. dev or prod.`,
    );
  }
  if (options.bucket !== undefined) checkBucketName(options.bucket, '--bucket');
  const promoteTo = options.promoteTo ?? '';
  if (promoteTo && (!ENVIRONMENT_NAME.test(promoteTo) || promoteTo === environment)) {
    throw new UserError(
      `--promoteTo: "${promoteTo}" must be another environment than --environment ("${environment}"): a lower-case letter, then at most 15 lower-case letters, digits and hyphens, e.g. prod.`,
    );
  }
  if (options.repository !== undefined && !REPOSITORY_ID.test(options.repository)) {
    throw new UserError(`--repository: "${options.repository}" must be owner/name, e.g. acme/web.`);
  }
  if (options.connectionArn !== undefined && !CONNECTION_ARN.test(options.connectionArn)) {
    throw new UserError(
      `--connectionArn: "${options.connectionArn}" is not a CodeConnections connection ARN (arn:aws:codeconnections:<region>:<account>:connection/<id>).`,
    );
  }
  const branch = options.branch ?? 'main';
  if (!/^[^\s'"~^:?*[\\]+$/.test(branch)) throw new UserError(`--branch: "${branch}" is not a git branch name.`);
  const directory = normalizePath(options.directory ?? 'infra').replace(/^\.\/|\/$/g, '');
  if (!directory || directory.startsWith('..') || directory.startsWith('/')) {
    throw new UserError(`--directory: "${options.directory}" must be a folder inside the workspace, e.g. infra.`);
  }
  const atomic = checkReleaseMode(options.releaseMode);
  const previewDomain = options.previewDomain ?? '';
  if (previewDomain && !PREVIEW_DOMAIN.test(previewDomain))
    throw new UserError(
      `--previewDomain: "${previewDomain}" must be a domain name of lower-case labels, e.g. previews.example.com.`,
    );
  const previews = options.previews ?? Boolean(previewDomain);
  if (previews && !atomic)
    throw new UserError(
      '--previews needs atomic releases (a preview is an atomic release of its own, served by the release router): drop --releaseMode=in-place.',
    );
  return {
    environment,
    bucket: options.bucket ?? '',
    repository: options.repository ?? '',
    branch,
    connectionArn: options.connectionArn ?? '',
    spaFallback: options.spaFallback ?? true,
    atomic,
    previews,
    previewDomain,
    directory,
    promoteTo,
  };
}

function checkReleaseMode(mode: string | undefined): boolean {
  if (mode === undefined || mode === 'atomic') return true;
  if (mode === 'in-place') return false;
  throw new UserError(`--releaseMode: "${mode}" must be "atomic" (the default) or "in-place".`);
}

/** An explicit build target, a package.json build script, or a config file from which an Nx plugin infers one. */
function hasBuild(tree: Tree, project: ProjectConfiguration): boolean {
  if (project.targets?.build) return true;
  const packageJson = joinPathFragments(project.root, 'package.json');
  if (tree.exists(packageJson) && JSON.parse(tree.read(packageJson, 'utf8')!).scripts?.build) return true;
  return tree.children(project.root).some((file) => INFERRED_BUILD_CONFIG.test(file));
}

/** A project's name as a DNS label of its previews' hosts. */
function dnsLabel(project: string): string {
  return project
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 63);
}

function indent(text: string, spaces: number): string {
  const pad = ' '.repeat(spaces);
  return text
    .trimEnd()
    .split('\n')
    .map((line) => (line ? pad + line : line))
    .join('\n');
}

export default pipelineGenerator;
