import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { CreateNodes, TargetConfiguration } from '@nx/devkit';

/** The package's name: how nx.json registers this plugin and how its executors are addressed. */
export const PLUGIN_NAME = 'nx-aws-deploy';
/** The file that marks a project as deployed by this plugin; its contents are the deploy-s3 options. */
export const DEPLOY_CONFIG_FILE = `${PLUGIN_NAME}.json`;

export interface DeployTargetsPluginOptions {
  deployTargetName?: string;
  invalidateTargetName?: string;
  rollbackTargetName?: string;
  promoteTargetName?: string;
  releasesTargetName?: string;
  /** The target that produces the folder to deploy. */
  buildTargetName?: string;
}

/**
 * Infers `deploy`, `invalidate`, `rollback`, `promote` and `releases` targets for every project with an
 * `nx-aws-deploy.json` (as @nx/vite infers build targets from vite.config.ts): `deploy` runs deploy-s3 with the
 * file's options after the build, `invalidate` invalidates what the last deploy changed, and the release targets
 * work on the same bucket and prefix.
 */
export const createNodes: CreateNodes<DeployTargetsPluginOptions> = [
  `**/${DEPLOY_CONFIG_FILE}`,
  (configFiles, options, context) =>
    configFiles.map((file) => {
      const root = dirname(file);
      const config = JSON.parse(readFileSync(join(context.workspaceRoot, file), 'utf8')) as Record<string, unknown>;
      const build = options?.buildTargetName ?? 'build';
      const targets: Record<string, TargetConfiguration> = {
        [options?.deployTargetName ?? 'deploy']: {
          executor: `${PLUGIN_NAME}:deploy-s3`,
          dependsOn: [build],
          options: config,
          metadata: { description: `Deploy the ${build} output to S3 by content (nx-aws-deploy).` },
        },
        [options?.invalidateTargetName ?? 'invalidate']: {
          executor: `${PLUGIN_NAME}:invalidate`,
          options: config.distributionId ? { distributionId: config.distributionId } : {},
          metadata: { description: 'Invalidate on CloudFront exactly what the last deploy changed (nx-aws-deploy).' },
        },
        [options?.rollbackTargetName ?? 'rollback']: {
          executor: `${PLUGIN_NAME}:rollback`,
          options: pick(config, ['bucket', 'prefix', 'region', 'distributionId', 'keepReleases', 'requestTimeout']),
          metadata: { description: 'Bring back the previous release (or --to=N) without a build (nx-aws-deploy).' },
        },
        [options?.promoteTargetName ?? 'promote']: {
          executor: `${PLUGIN_NAME}:promote`,
          options: pick(config, [
            'bucket',
            'prefix',
            'region',
            'distributionId',
            'keepReleases',
            'maxDeletes',
            'exclude',
            'requestTimeout',
          ]),
          metadata: {
            description:
              'Copy a tested release into this bucket: --from-bucket=<staging> [--release=N] (nx-aws-deploy).',
          },
        },
        [options?.releasesTargetName ?? 'releases']: {
          executor: `${PLUGIN_NAME}:releases`,
          options: pick(config, ['bucket', 'prefix', 'region', 'requestTimeout']),
          metadata: { description: 'List the releases: which is live, which can be rolled back to (nx-aws-deploy).' },
        },
      };
      return [file, { projects: { [root]: { targets } } }] as const;
    }),
];

function pick(config: Record<string, unknown>, names: string[]): Record<string, unknown> {
  return Object.fromEntries(names.filter((name) => config[name] !== undefined).map((name) => [name, config[name]]));
}

/** Nx before 22 looked for this name. */
export const createNodesV2 = createNodes;
