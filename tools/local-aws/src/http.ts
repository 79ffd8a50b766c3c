import type { IncomingMessage } from 'node:http';
import { randomBytes } from 'node:crypto';
import type { SigningScope } from './sigv4';

export interface LocalRequest {
  req: IncomingMessage;
  method: string;
  url: URL;
  body: Buffer;
  /** Trailing headers of an aws-chunked body, names lower-cased (the SDK sends x-amz-checksum-* there). */
  trailers: Record<string, string>;
  scope: SigningScope;
  requestId: string;
  /** Set by the service handler as soon as it knows which API operation this is (for logs and counters). */
  operation: string;
}

export interface LocalResponse {
  status: number;
  headers?: Record<string, string | number>;
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
