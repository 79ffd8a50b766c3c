import { CLOUDFRONT_NS, STS_NS, type Service } from './operations';
import { el, xmlDocument } from './xml';

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

/** An error's body, status and headers in the wire format of the service that answers it, as the SDK parses them. */
export function errorResponse(
  service: Service | undefined,
  error: AwsError,
  request: { requestId: string; method: string },
): { status: number; headers: Record<string, string>; body?: string } {
  if (service === 's3') {
    const extra = Object.entries(error.extra)
      .map(([k, v]) => el(k, v))
      .join('');
    const body = `<Error>${el('Code', error.code)}${el('Message', error.message)}${extra}${el('RequestId', request.requestId)}<HostId>local</HostId></Error>`;
    return {
      status: error.status,
      headers: { 'Content-Type': 'application/xml', ...error.headers },
      body: request.method === 'HEAD' ? undefined : xmlDocument(body),
    };
  }
  if (service === 'cloudfront' || service === 'sts') {
    const type = error.status >= 500 ? 'Receiver' : 'Sender';
    const body = `<ErrorResponse xmlns="${service === 'sts' ? STS_NS : CLOUDFRONT_NS}"><Error>${el('Type', type)}${el('Code', error.code)}${el('Message', error.message)}</Error>${el('RequestId', request.requestId)}</ErrorResponse>`;
    return { status: error.status, headers: { 'Content-Type': 'text/xml' }, body: xmlDocument(body) };
  }
  if (service === 'cloudfront-keyvaluestore') {
    // REST-JSON: the error type in a header, the modeled exceptions' Message in the body.
    return {
      status: error.status,
      headers: { 'Content-Type': 'application/json', 'x-amzn-ErrorType': error.code },
      body: JSON.stringify({ Message: error.message }),
    };
  }
  if (service === 'codepipeline') {
    return {
      // JSON protocols have no redirects: CodePipeline answers every client error with 400.
      status: error.status >= 300 && error.status < 400 ? 400 : error.status,
      headers: { 'Content-Type': 'application/x-amz-json-1.1', 'x-amzn-ErrorType': error.code },
      body: JSON.stringify({ __type: error.code, message: error.message }),
    };
  }
  return {
    status: error.status,
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ code: error.code, message: error.message }),
  };
}
