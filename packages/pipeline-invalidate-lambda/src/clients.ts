/**
 * Lambda time is short (120 s in the generated template) and the job must always be reported: a stalled
 * CloudFront or artifact store gives up after about 3 × 5 s (3 × UserParameters' "requestTimeout"), reporting to
 * CodePipeline after about 6 × 5 s.
 */
export const WORK_CLIENT = { requestTimeoutSeconds: 5, maxAttempts: 3 };
export const REPORT_CLIENT = { requestTimeoutSeconds: 5 };
/** The most "requestTimeout" may be: its 3 attempts and the report's 6 × 5 s still end in the function's 120 s. */
export const MAX_REQUEST_TIMEOUT_SECONDS = 20;

/** The client options of the job's own work (CloudFront, the input artifacts). */
export const workClient = (requestTimeout?: number) => ({
  ...WORK_CLIENT,
  requestTimeoutSeconds: requestTimeout ?? WORK_CLIENT.requestTimeoutSeconds,
});
