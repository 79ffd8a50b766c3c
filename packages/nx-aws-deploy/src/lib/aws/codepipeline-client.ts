import { CodePipelineClient } from '@aws-sdk/client-codepipeline';
import { transport, type ClientOptions } from './clients';

/** CodePipeline: reading execution history (set-shas) and reporting job results (the Lambda) ride out throttling too. */
export function createCodePipelineClient(options: ClientOptions = {}): CodePipelineClient {
  return new CodePipelineClient({ ...transport({ maxSockets: 4, ...options }) });
}
