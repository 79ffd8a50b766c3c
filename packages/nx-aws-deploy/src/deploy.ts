/** `nx-aws-deploy/deploy`: the deploy library, for scripts that deploy without Nx or the command. */
export { deploy, type DeployOptions, type DeploySummary } from './lib/deploy/deploy';
export { planDeploy, type DeployPlan, type DeployState } from './lib/deploy/plan';
export { headersFor, isContentHashed, isEntryFile, type HeaderRule } from './lib/deploy/headers';
export type { DeployManifest, ManifestChange } from './lib/deploy/manifest';
export { UserError } from './lib/util/errors';
