export { start, EDGE_DOMAIN, type LocalAws, type LocalAwsOptions } from './server';
export type { JobRequest, Job, PullRequestEvent } from './codepipeline/state';
export { artifactKey, type ActionStart } from './codepipeline/api';
export type { ServiceCall } from './iam/service-actor';
export {
  startLocalAws,
  edgeGet,
  previewGet,
  getWithHost,
  keyValueStoreClient,
  s3DistributionConfig,
  type LocalAwsHarness,
} from './testing';
export { deployStack, NOT_EMULATED_PARAMETERS, type StackResult } from './cloudformation/stack';
export { parseTemplate, type Template } from './cloudformation/template';
export { startMoto, motoInstalled, type MotoHarness } from './moto';
export { describeRequest, type RequestOperation, type Service } from './operations';
export { AwsError, errorResponse } from './errors';
export type { LoggedRequest } from './request-log';
export { simulate } from './iam/authorize';
export { Sha256 } from './iam/signature';
export type { IamCheck } from './iam/actions';
export type { Role } from './iam/roles';
