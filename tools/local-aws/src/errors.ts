/** An error answered to the client in the protocol of the service that raised it. */
export class AwsError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** Extra elements for XML error bodies (S3 adds Key, BucketName, …). */
    readonly extra: Record<string, string | number> = {},
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

/** The one account every local resource belongs to. */
export const ACCOUNT = '000000000000';
