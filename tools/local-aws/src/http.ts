import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomBytes } from 'node:crypto';
import { signingScope, type SigningScope } from './sigv4';
import type { RequestOperation } from './operations';

export interface LocalRequest {
  req: IncomingMessage;
  method: string;
  url: URL;
  body: Buffer;
  /** Trailing headers of an aws-chunked body, names lower-cased (the SDK sends x-amz-checksum-* there). */
  trailers: Record<string, string>;
  scope: SigningScope;
  requestId: string;
  /** The API operation and the ids in its path, as `describeRequest` named them. */
  operation: string;
  params: string[];
}

export interface LocalResponse {
  status: number;
  /** An array: the header sent once per value (Set-Cookie). */
  headers?: Record<string, string | number | string[]>;
  body?: Buffer | string;
}

export function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value.join(',') : value;
}

export function newRequestId(): string {
  return randomBytes(8).toString('hex').toUpperCase();
}

/**
 * Decodes an `aws-chunked` body (SigV4 streaming, with or without trailing checksums), which the SDK
 * and newer CLIs send for streamed uploads.
 */
export function decodeAwsChunked(body: Buffer): { body: Buffer; trailers: Record<string, string> } {
  const chunks: Buffer[] = [];
  const trailers: Record<string, string> = {};
  let offset = 0;
  for (;;) {
    const lineEnd = body.indexOf('\r\n', offset);
    if (lineEnd < 0) break;
    const size = parseInt(body.subarray(offset, lineEnd).toString('latin1').split(';')[0], 16);
    if (!Number.isFinite(size)) break;
    if (size === 0) {
      // The last chunk; trailing headers follow, one a line, until an empty line.
      for (const line of body
        .subarray(lineEnd + 2)
        .toString('latin1')
        .split('\r\n')) {
        const colon = line.indexOf(':');
        if (colon > 0) trailers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
      }
      break;
    }
    chunks.push(body.subarray(lineEnd + 2, lineEnd + 2 + size));
    offset = lineEnd + 2 + size + 2;
  }
  return { body: Buffer.concat(chunks), trailers };
}

export function isAwsChunked(req: IncomingMessage): boolean {
  const sha = header(req, 'x-amz-content-sha256') ?? '';
  const encoding = header(req, 'content-encoding') ?? '';
  return sha.startsWith('STREAMING-') || encoding.split(',').some((e) => e.trim() === 'aws-chunked');
}

/** Reads a whole API request (decoding an aws-chunked body) into what the services handle. */
export async function readRequest(
  req: IncomingMessage,
  url: URL,
  named: Pick<RequestOperation, 'operation' | 'params'>,
): Promise<LocalRequest> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const raw = Buffer.concat(chunks);
  const { body, trailers } = isAwsChunked(req) ? decodeAwsChunked(raw) : { body: raw, trailers: {} };
  return {
    req,
    method: req.method ?? 'GET',
    url,
    body,
    trailers,
    scope: signingScope(req.headers, url),
    requestId: newRequestId(),
    operation: named.operation,
    params: named.params,
  };
}

/** Writes a response with its Content-Length; HEAD answers carry the headers only. */
export function sendResponse(req: IncomingMessage, res: ServerResponse, response: LocalResponse): void {
  const body = typeof response.body === 'string' ? Buffer.from(response.body, 'utf8') : response.body;
  const headers = { ...response.headers };
  if (!Object.keys(headers).some((h) => h.toLowerCase() === 'content-length'))
    headers['Content-Length'] = body?.length ?? 0;
  res.writeHead(response.status, headers);
  res.end(req.method === 'HEAD' ? undefined : body);
}
