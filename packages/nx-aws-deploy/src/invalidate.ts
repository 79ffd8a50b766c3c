/** `nx-aws-deploy/invalidate`: the invalidation library on its own, small enough to bundle into a Lambda. */
export { createCloudFrontClient } from './lib/aws/cloudfront-client';
export { createCodePipelineClient } from './lib/aws/codepipeline-client';
export { createS3Client } from './lib/aws/s3-client';
export { CloudFrontTarget, type RetryPolicy } from './lib/invalidate/cloudfront-target';
export {
  planInvalidation,
  planDistributionInvalidation,
  manifestsByDistribution,
  foldPaths,
  encodePath,
  MAX_PATHS_PER_INVALIDATION,
  MAX_WILDCARDS,
} from './lib/invalidate/plan';
export { invalidationSummary } from './lib/invalidate/invalidate';
export { parseManifest, type DeployManifest, type ManifestChange } from './lib/deploy/manifest';
export { UserError, errorMessage } from './lib/util/errors';
