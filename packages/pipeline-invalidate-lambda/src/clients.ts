/**
 * Lambda time is short (120 s in the generated template) and the job must always be reported: a stalled
 * CloudFront or artifact store gives up after about 3 × 5 s, reporting to CodePipeline after about 6 × 5 s.
 */
export const WORK_CLIENT = { requestTimeoutSeconds: 5, maxAttempts: 3 };
export const REPORT_CLIENT = { requestTimeoutSeconds: 5 };
