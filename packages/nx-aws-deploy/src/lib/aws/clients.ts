// What every client shares. Each service's client is made in a module of its own (s3-client.ts, …), so that a
// command loads only the SDK clients it uses.
import { lookup, type LookupAddress } from 'node:dns';
import type { LookupFunction } from 'node:net';
import { NodeHttpHandler } from '@smithy/node-http-handler';

/** Seconds a request may go without progress (no connection, no byte) before it is aborted and retried. */
export const DEFAULT_REQUEST_TIMEOUT_SECONDS = 30;
/** Attempts per request; with the timeout this bounds how long a stalled endpoint can hold a request. */
export const DEFAULT_MAX_ATTEMPTS = 6;

export interface ClientOptions {
  region?: string;
  /** Sockets kept alive per host; match the number of requests in flight. */
  maxSockets?: number;
  /** See DEFAULT_REQUEST_TIMEOUT_SECONDS. */
  requestTimeoutSeconds?: number;
  maxAttempts?: number;
  /** Only where a caller is handed credentials (the Lambda's artifact credentials); else the default chain. */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** Aborts every request in flight, and every later one, unless a request brings its own signal (NEVER_STOPPED). */
  stopSignal?: AbortSignal;
}

/** For the few requests that must run to their end after a stop (a lease's release, cleaning up uploads). */
export const NEVER_STOPPED: AbortSignal = new AbortController().signal;

/**
 * The SDK's HTTP handler with the stop signal bound to every request, rather than passed to each `send`: a `send`
 * without options reuses the command's resolved middleware (cacheMiddleware), where options make the SDK
 * rebuild the whole stack per request, the largest cost of a small PUT in time and in garbage.
 */
function stoppedBy(
  handler: NodeHttpHandler,
  stopSignal: AbortSignal,
): Pick<NodeHttpHandler, 'metadata' | 'handle' | 'updateHttpClientConfig' | 'httpHandlerConfigs' | 'destroy'> {
  return {
    metadata: handler.metadata,
    handle: (request, options) =>
      handler.handle(request, { ...options, abortSignal: options?.abortSignal ?? stopSignal }),
    updateHttpClientConfig: (key, value) => handler.updateHttpClientConfig(key, value),
    httpHandlerConfigs: () => handler.httpHandlerConfigs(),
    destroy: () => handler.destroy(),
  };
}

/**
 * Name resolution as RFC 6761 asks of `localhost` and every `*.localhost` name: loopback. An endpoint set with
 * AWS_ENDPOINT_URL to `http://localhost:<port>` then works for services whose endpoints put the account first
 * (the KeyValueStore API's `<account>.localhost`), which the system resolver may not know. Others: as ever.
 */
export const loopbackForLocalhost: LookupFunction = (hostname, options, callback) => {
  if (hostname !== 'localhost' && !hostname.endsWith('.localhost')) return lookup(hostname, options, callback);
  if (options.all)
    return (callback as (e: null, a: LookupAddress[]) => void)(null, [{ address: '127.0.0.1', family: 4 }]);
  return callback(null, '127.0.0.1', 4);
};

/**
 * Timeouts that abort, never only warn: a connection that does not open, a socket idle for the timeout (an
 * endpoint that accepts and never answers), and any one attempt that takes ten times the timeout. Each is
 * retried with adaptive backoff, so a stalled endpoint fails a request after at most about
 * maxAttempts × 10 × timeout, and typically maxAttempts × timeout.
 */
export function transport({
  credentials,
  maxSockets = 16,
  requestTimeoutSeconds = DEFAULT_REQUEST_TIMEOUT_SECONDS,
  maxAttempts = DEFAULT_MAX_ATTEMPTS,
  stopSignal,
}: ClientOptions) {
  const ms = requestTimeoutSeconds * 1000;
  const handler = {
    httpAgent: { keepAlive: true, maxSockets, lookup: loopbackForLocalhost },
    httpsAgent: { keepAlive: true, maxSockets, lookup: loopbackForLocalhost },
    connectionTimeout: Math.min(ms, 10_000),
    socketTimeout: ms,
    requestTimeout: ms * 10,
    throwOnRequestTimeout: true,
  };
  return {
    credentials,
    retryMode: 'adaptive',
    maxAttempts,
    requestHandler: stopSignal ? stoppedBy(new NodeHttpHandler(handler), stopSignal) : handler,
    // Nothing of ours changes a middleware stack once a client has sent a request.
    cacheMiddleware: true,
  } as const;
}

type Service = 'S3' | 'CloudFront' | 'CloudFront KeyValueStore' | 'CodePipeline';

/** The endpoint a service's requests go to, as the SDK picks it, for messages. */
export function endpointOf(service: Service, region?: string): string {
  const own =
    process.env[`AWS_ENDPOINT_URL_${service.toUpperCase().replace(' ', '_')}`] ?? process.env.AWS_ENDPOINT_URL;
  if (own) return own;
  const where = region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1';
  if (service === 'CloudFront KeyValueStore') return 'https://<account>.cloudfront-kvs.global.api.aws';
  return service === 'CloudFront'
    ? 'https://cloudfront.amazonaws.com'
    : `https://${service.toLowerCase()}.${where}.amazonaws.com`;
}

/**
 * For a request the SDK gave up on because the endpoint did not answer in time (see transport): one line with
 * the operation, the endpoint, the attempts and what to do; undefined for any other error.
 */
export function explainTimeout(error: unknown, what: string, service: Service, region?: string): string | undefined {
  const e = error as { name?: string; code?: string; $metadata?: { attempts?: number } };
  if (e?.name !== 'TimeoutError' && e?.code !== 'ETIMEDOUT') return undefined;
  const attempts = e.$metadata?.attempts;
  return (
    `${what}: no answer from ${endpointOf(service, region)}${attempts ? ` in ${attempts} attempt${attempts === 1 ? '' : 's'}` : ''}, each aborted when it stalled. ` +
    'Check the network and the endpoint (AWS_ENDPOINT_URL), or raise the "requestTimeout" option.'
  );
}

/**
 * Who AWS says it refused, and its account: since 2024 S3, CloudFront and CodePipeline name the caller in a
 * denial ("User: arn:aws:sts::123456789012:assumed-role/<role>/<session> is not authorized to perform …"). Without
 * it, a pointer to where the role comes from.
 */
export function deniedCaller(error: unknown): { who: string; account: string } {
  const caller = /User: (arn:\S+) is not authorized/.exec((error as Error)?.message ?? '')?.[1];
  return {
    who: caller ?? "the role this runs as (AWS_PROFILE, or the CodeBuild project's or the Lambda function's role)",
    account: (caller && /^arn:aws[\w-]*:(?:sts|iam)::(\d{12}):/.exec(caller)?.[1]) || '<account>',
  };
}
