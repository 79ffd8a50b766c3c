export { start, EDGE_DOMAIN, type LocalAws, type LocalAwsOptions } from './server';
export type { JobRequest, Job } from './codepipeline/api';
export { startLocalAws, edgeGet, getWithHost, s3DistributionConfig, type LocalAwsHarness } from './testing';
export { deployStack, parseTemplate, type StackResult, type Template } from './cloudformation';
export { startMoto, motoInstalled, type MotoHarness } from './moto';
