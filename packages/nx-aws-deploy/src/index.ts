export {
  createNodes,
  createNodesV2,
  DEPLOY_CONFIG_FILE,
  type DeployTargetsPluginOptions,
} from './plugins/deploy-targets';
export { initGenerator } from './generators/init/generator';
export { deploy, type DeployOptions, type DeploySummary } from './lib/deploy/deploy';
export { planDeploy, type DeployPlan, type DeployState } from './lib/deploy/plan';
export { headersFor, isContentHashed, isEntryFile, type HeaderRule } from './lib/deploy/headers';
export type { DeployManifest, ManifestChange } from './lib/deploy/manifest';
export { UserError } from './lib/util/errors';
