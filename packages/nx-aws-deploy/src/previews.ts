/** `nx-aws-deploy/previews`: publishing and removing pull-request previews, for the pipeline's Lambda to bundle. */
export { publishPreviewOf, removePreviewOf } from './lib/releases/preview-commands';
export type { RemovedPreview } from './lib/releases/preview-store';
