import {
  formatFiles,
  getProjects,
  joinPathFragments,
  readNxJson,
  updateNxJson,
  writeJson,
  type Tree,
} from '@nx/devkit';
import { checkBucketName } from '../../lib/bucket/name';
import { DEPLOY_CONFIG_FILE, PLUGIN_NAME } from '../../plugins/deploy-targets';
import { UserError } from '../../lib/util/errors';
import type { InitGeneratorSchema } from './schema';

/** `nx add nx-aws-deploy` / `nx g nx-aws-deploy:init`: idempotent; running it twice changes nothing. */
export async function initGenerator(tree: Tree, options: InitGeneratorSchema): Promise<void> {
  const nxJson = readNxJson(tree) ?? {};
  const registered = (nxJson.plugins ?? []).some((p) => (typeof p === 'string' ? p : p.plugin) === PLUGIN_NAME);
  if (!registered) {
    nxJson.plugins = [
      ...(nxJson.plugins ?? []),
      {
        plugin: PLUGIN_NAME,
        options: { deployTargetName: 'deploy', invalidateTargetName: 'invalidate', buildTargetName: 'build' },
      },
    ];
    updateNxJson(tree, nxJson);
  }
  if (options.project) {
    const project = getProjects(tree).get(options.project);
    if (!project)
      throw new UserError(`Project "${options.project}" does not exist in this workspace; see \`nx show projects\`.`);
    if (!options.bucket)
      throw new UserError(`--bucket is required with --project: the S3 bucket ${options.project} deploys to.`);
    checkBucketName(options.bucket, '--bucket');
    const config = {
      bucket: options.bucket,
      ...(options.prefix ? { prefix: options.prefix } : {}),
      ...(options.distributionId ? { distributionId: options.distributionId } : {}),
    };
    writeJson(tree, joinPathFragments(project.root, DEPLOY_CONFIG_FILE), config);
  }
  if (!options.skipFormat) await formatFiles(tree);
}

export default initGenerator;
