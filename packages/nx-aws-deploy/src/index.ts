/**
 * The Nx plugin, as Nx loads it for every command in a workspace that registers it: inferred targets and the
 * init generator only. The deploy library (and the AWS SDK under it) is `nx-aws-deploy/deploy`, loaded by the
 * executors and the command when they run, so that `nx` itself does not pay for it.
 */
export {
  createNodes,
  createNodesV2,
  DEPLOY_CONFIG_FILE,
  type DeployTargetsPluginOptions,
} from './plugins/deploy-targets';
export { initGenerator } from './generators/init/generator';
export { UserError } from './lib/util/errors';
