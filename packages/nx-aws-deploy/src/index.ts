/**
 * The Nx plugin, as Nx loads it for every command in a workspace that registers it: inferred targets and the
 * init generator only. The deploy library (and the AWS SDK under it) is `nx-aws-deploy/deploy`, loaded by the
 * executors and the command when they run, so that `nx` itself does not pay for it.
 */
import type { Tree } from '@nx/devkit';
import type { InitGeneratorSchema } from './generators/init/schema';

export {
  createNodes,
  createNodesV2,
  DEPLOY_CONFIG_FILE,
  type DeployTargetsPluginOptions,
} from './plugins/deploy-targets';
export { UserError } from './lib/util/errors';

/**
 * The init generator (`nx add`; generators.json names it too), loaded when it runs: it needs @nx/devkit, whose
 * ~0.4 s of loading Nx would otherwise pay in its plugin worker for every command.
 */
export async function initGenerator(tree: Tree, options: InitGeneratorSchema): Promise<void> {
  const { initGenerator: init } = await import('./generators/init/generator');
  return init(tree, options);
}
