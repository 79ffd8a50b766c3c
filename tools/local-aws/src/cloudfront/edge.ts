import { createHash, createHmac, randomBytes } from 'node:crypto';
import vm from 'node:vm';
import type { IncomingMessage } from 'node:http';
import { objectResponseHeaders } from '../s3/handler';
import { simulate } from '../iam/authorize';
import type { S3Store } from '../s3/store';
import type { LocalResponse } from '../http';
import type { KeyValueStoreService } from './kvs';
import type { CloudFrontState, Distribution, KeyValueStore } from './state';

/** CloudFront's default TTL when the origin sends no Cache-Control max-age. */
const DEFAULT_TTL_SECONDS = 86_400;
/**
 * A wall-clock bound that stops a runaway function (an endless loop). CloudFront limits compute utilization,
 * which this cannot measure; a tight wall-clock limit only fails on a machine busy with other work.
 */
const FUNCTION_TIMEOUT_MS = 1000;
/** Compiled once: each request only runs it. */
const INVOKE_HANDLER = new vm.Script('handler(__event)', { filename: 'function-invoke.js' });

interface CachedResponse {
  status: number;
  headers: Record<string, string | number>;
  body: Buffer;
  storedAt: number;
  ttlSeconds: number;
}

export interface EdgeStats {
  hits: number;
  misses: number;
  evictions: number;
}

/**
 * The local edge of each distribution: runs its viewer-request function, answers from an edge cache that
 * honours Cache-Control and is evicted by invalidations, and falls through to the origin bucket; the viewer-response
 * function sees the answer (and the request as the viewer sent it) and may change its headers and set cookies.
 */
export class Edge {
  private readonly caches = new Map<string, Map<string, CachedResponse>>();
  readonly stats = new Map<string, EdgeStats>();
  private readonly compiled = new Map<string, { code: string; context: vm.Context }>();

  constructor(
    private readonly cloudfront: CloudFrontState,
    private readonly s3: S3Store,
    private readonly kvs: KeyValueStoreService,
  ) {}

  /**
   * The distribution a Host header names (`<id>.<edgeDomain>[:port]`), if any. A label before the id and `--`
   * (`pr-7--<id>.<edgeDomain>`) stands for the alternate domain names a distribution may have (a wildcard's
   * hosts): the viewer's Host, which its functions see, is what it was.
   */
  distributionForHost(host: string | undefined, edgeDomain: string): Distribution | undefined {
    const name = (host ?? '').split(':')[0].toLowerCase();
    if (!name.endsWith(`.${edgeDomain}`)) return undefined;
    const label = name.slice(0, -(edgeDomain.length + 1));
    const id = label.split('--').pop()!.toUpperCase();
    return this.cloudfront.distributions.get(id);
  }

  cachedPaths(distributionId: string): string[] {
    return [...(this.caches.get(distributionId)?.keys() ?? [])].sort();
  }

  statsFor(distributionId: string): EdgeStats {
    let stats = this.stats.get(distributionId);
    if (!stats) this.stats.set(distributionId, (stats = { hits: 0, misses: 0, evictions: 0 }));
    return stats;
  }

  invalidate(distribution: Distribution, paths: string[]): void {
    const cache = this.caches.get(distribution.id);
    if (!cache) return;
    for (const path of paths.map(decodePath)) {
      for (const key of [...cache.keys()]) {
        if (path.endsWith('*') ? key.startsWith(path.slice(0, -1)) : key === path) {
          cache.delete(key);
          this.statsFor(distribution.id).evictions++;
        }
      }
    }
  }

  async serve(distribution: Distribution, req: IncomingMessage, url: URL): Promise<LocalResponse> {
    const method = req.method ?? 'GET';
    if (method !== 'GET' && method !== 'HEAD') return text(405, 'Method not allowed at the local edge');
    let uri = url.pathname;
    const viewerRequest = requestEvent(req, url);
    if (distribution.viewerRequestFunction) {
      const result = await this.runFunction(distribution, distribution.viewerRequestFunction, 'viewer-request', req, {
        request: structuredClone(viewerRequest),
      });
      if ('statusCode' in result) return functionResponse(result);
      uri = result.uri;
    }
    const cacheKey = decodePath(uri);
    const cache = this.caches.get(distribution.id) ?? new Map<string, CachedResponse>();
    this.caches.set(distribution.id, cache);
    const stats = this.statsFor(distribution.id);
    let entry = cache.get(cacheKey);
    const fresh = entry && Date.now() - entry.storedAt < entry.ttlSeconds * 1000;
    if (entry && fresh) {
      stats.hits++;
    } else {
      stats.misses++;
      entry = await this.fromOrigin(distribution, cacheKey);
      if (entry.ttlSeconds > 0) cache.set(cacheKey, entry);
      else cache.delete(cacheKey);
    }
    const headers: Record<string, string | number> = {
      ...entry.headers,
      'X-Cache': fresh ? 'Hit from cloudfront' : 'Miss from cloudfront',
      Via: '1.1 local.cloudfront.localhost (CloudFront)',
      'X-Amz-Cf-Id': randomBytes(12).toString('base64url'),
    };
    if (fresh) headers.Age = Math.floor((Date.now() - entry.storedAt) / 1000);
    const etag = entry.headers.ETag;
    const notModified = entry.status === 200 && etag && req.headers['if-none-match'] === etag;
    const answer: LocalResponse = notModified
      ? { status: 304, headers }
      : { status: entry.status, headers, body: method === 'HEAD' ? undefined : entry.body };
    if (!distribution.viewerResponseFunction) return answer;
    return this.runViewerResponse(distribution, distribution.viewerResponseFunction, req, viewerRequest, answer);
  }

  /** The viewer-response function over `answer`: its headers and cookies are what the viewer gets. */
  private async runViewerResponse(
    distribution: Distribution,
    name: string,
    req: IncomingMessage,
    request: object,
    answer: LocalResponse,
  ): Promise<LocalResponse> {
    const headers: Record<string, { value: string }> = {};
    for (const [header, value] of Object.entries(answer.headers ?? {}))
      headers[header.toLowerCase()] = { value: String(value) };
    const response = { statusCode: answer.status, statusDescription: '', headers, cookies: {} };
    const result = await this.runFunction(distribution, name, 'viewer-response', req, { request, response });
    // A function that failed (or answered no response) fails the request, as CloudFront's do.
    if (!result?.headers)
      return functionResponse(
        result?.statusCode
          ? result
          : { statusCode: 503, statusDescription: `The CloudFront function ${name} answered no response` },
      );
    const returned: Record<string, string | string[]> = {};
    for (const [header, { value }] of Object.entries(result.headers ?? {}) as [string, { value: string }][])
      returned[header] = value;
    const cookies = Object.entries(result.cookies ?? {}) as [string, { value: string; attributes?: string }][];
    if (cookies.length)
      returned['set-cookie'] = cookies.map(([cookie, { value, attributes }]) =>
        [`${cookie}=${value}`, attributes].filter(Boolean).join('; '),
      );
    return { status: result.statusCode, headers: returned, body: answer.body };
  }

  private async fromOrigin(distribution: Distribution, path: string): Promise<CachedResponse> {
    const response = await this.originObject(distribution, path);
    if (response.status === 200) return response;
    // Custom error responses (SPA fallback): answer the configured page with the configured status.
    const custom = distribution.customErrors.find((e) => e.errorCode === response.status);
    if (custom?.responsePagePath) {
      const page = await this.originObject(distribution, decodePath(custom.responsePagePath));
      if (page.status === 200) return { ...page, status: custom.responseCode ?? page.status, ttlSeconds: 0 };
    }
    return response;
  }

  private async originObject(distribution: Distribution, path: string): Promise<CachedResponse> {
    const bucket = this.s3.buckets.get(distribution.originBucket);
    let key = path === '/' && distribution.defaultRootObject ? distribution.defaultRootObject : path.slice(1);
    if (distribution.originPath) key = `${distribution.originPath}/${key}`;
    const object = bucket?.objects.get(key);
    // What the bucket policy lets this distribution read (Origin Access Control): refused reads look missing.
    if (!bucket || !object || !(await cloudFrontMayRead(bucket.policy, bucket.name, key, distribution.arn))) {
      // A private bucket behind Origin Access Control answers 403 for a missing key, as S3 does without ListBucket.
      return {
        status: 403,
        headers: { 'Content-Type': 'application/xml' },
        body: Buffer.from('<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>'),
        storedAt: Date.now(),
        ttlSeconds: 0,
      };
    }
    const headers = objectResponseHeaders(object);
    return {
      status: 200,
      headers,
      body: this.s3.body(bucket, object),
      storedAt: Date.now(),
      ttlSeconds: ttlOf(object.cacheControl),
    };
  }

  private cloudFrontModule(functionName: string) {
    return {
      kvs: (id?: string) => {
        const arn = this.cloudfront.functions.get(functionName)?.keyValueStores[0];
        const store = arn ? this.cloudfront.keyValueStoreByArn(arn) : undefined;
        if (!store || (id !== undefined && id !== store.id))
          throw new Error(`The function ${functionName} is not associated with the key value store ${id ?? ''}`.trim());
        return keyValueStoreHandle(this.kvs, store);
      },
    };
  }

  /** Runs a function of the distribution on an event of `eventType` with `parts` (request, response). */
  private async runFunction(
    distribution: Distribution,
    name: string,
    eventType: 'viewer-request' | 'viewer-response',
    req: IncomingMessage,
    parts: { request: object; response?: object },
  ): Promise<any> {
    const fn = this.cloudfront.functions.get(name);
    if (!fn) return { statusCode: 503, statusDescription: `Function ${name} is missing` };
    let compiled = this.compiled.get(fn.name);
    if (!compiled || compiled.code !== fn.code) {
      const context = vm.createContext({
        console,
        Buffer,
        __modules: { cloudfront: this.cloudFrontModule(fn.name), crypto: FUNCTION_CRYPTO },
      });
      // cloudfront-js-2.0's `import cf from 'cloudfront'` and `import crypto from 'crypto'`, as a script can hold them.
      const code = fn.code.replace(
        /^\s*import\s+(\w+)\s+from\s+['"](cloudfront|crypto)['"];?/gm,
        "var $1 = __modules['$2'];",
      );
      vm.runInContext(code, context, { timeout: FUNCTION_TIMEOUT_MS, filename: `${fn.name}.js` });
      compiled = { code: fn.code, context };
      this.compiled.set(fn.name, compiled);
    }
    const event = {
      version: '1.0',
      context: {
        distributionDomainName: distribution.domainName,
        distributionId: distribution.id,
        eventType,
        requestId: randomBytes(12).toString('base64url'),
      },
      viewer: { ip: req.socket.remoteAddress ?? '127.0.0.1' },
      ...parts,
    };
    try {
      compiled.context.__event = event;
      return await INVOKE_HANDLER.runInContext(compiled.context, { timeout: FUNCTION_TIMEOUT_MS });
    } catch (error) {
      return {
        statusCode: 503,
        statusDescription: `The CloudFront function ${fn.name} failed: ${(error as Error).message}`,
      };
    }
  }
}

/** What cloudfront-js-2.0's `crypto` module has: hashes and HMACs. */
const FUNCTION_CRYPTO = { createHash, createHmac };

/**
 * The request as a function's event has it: lower-case headers but the cookie header, whose cookies are parsed
 * apart (as CloudFront passes them), the query string by name.
 */
function requestEvent(req: IncomingMessage, url: URL) {
  const headers: Record<string, { value: string }> = {};
  for (const [name, value] of Object.entries(req.headers))
    if (typeof value === 'string' && name !== 'cookie') headers[name] = { value };
  const querystring: Record<string, { value: string }> = {};
  url.searchParams.forEach((value, name) => (querystring[name] = { value }));
  const cookies: Record<string, { value: string }> = {};
  for (const pair of String(req.headers.cookie ?? '').split(';')) {
    const at = pair.indexOf('=');
    if (at > 0) cookies[pair.slice(0, at).trim()] = { value: pair.slice(at + 1).trim() };
  }
  return { method: req.method ?? 'GET', uri: url.pathname, querystring, headers, cookies };
}

/**
 * The `cloudfront` module of a function's runtime: `cf.kvs()` reads the key value store associated with the
 * function (its id may be named), as the edges hold it: a write reaches them `kvsPropagationMs` after the API
 * took it. `get` rejects for a missing key, as CloudFront's does.
 */
function keyValueStoreHandle(kvs: KeyValueStoreService, store: KeyValueStore) {
  const value = (key: string) => kvs.edgeValue(store, key);
  return {
    async get(key: string, options?: { format?: 'string' | 'json' | 'bytes' }) {
      const found = value(key);
      if (found === undefined) throw new Error(`Key ${key} not found in the key value store`);
      if (options?.format === 'json') return JSON.parse(found);
      return options?.format === 'bytes' ? new Uint8Array(Buffer.from(found)) : found;
    },
    async exists(key: string) {
      return value(key) !== undefined;
    },
    async meta() {
      return {
        creationDateTime: store.created,
        lastUpdatedDateTime: store.lastModified,
        keyCount: kvs.edgeKeyCount(store),
      };
    },
  };
}

function functionResponse(result: {
  statusCode: number;
  statusDescription?: string;
  headers?: Record<string, { value: string }>;
  body?: string | { data: string };
}): LocalResponse {
  const headers: Record<string, string> = {};
  for (const [name, { value }] of Object.entries(result.headers ?? {})) headers[name] = value;
  const body = typeof result.body === 'string' ? result.body : (result.body?.data ?? result.statusDescription ?? '');
  return { status: result.statusCode, headers, body };
}

/** Seconds the edge keeps a response: s-maxage, then max-age, none for no-cache/no-store/private. */
export function ttlOf(cacheControl: string | undefined): number {
  if (!cacheControl) return DEFAULT_TTL_SECONDS;
  const directives = cacheControl
    .toLowerCase()
    .split(',')
    .map((d) => d.trim());
  if (directives.some((d) => d === 'no-cache' || d === 'no-store' || d === 'private')) return 0;
  const seconds = (name: string) => {
    const found = directives.find((d) => d.startsWith(`${name}=`));
    return found === undefined ? undefined : Number(found.slice(name.length + 1)) || 0;
  };
  return seconds('s-maxage') ?? seconds('max-age') ?? DEFAULT_TTL_SECONDS;
}

function decodePath(path: string): string {
  try {
    return decodeURIComponent(path);
  } catch {
    return path;
  }
}

function text(status: number, body: string): LocalResponse {
  return { status, headers: { 'Content-Type': 'text/plain' }, body };
}

/**
 * What the bucket's policy lets a distribution read through Origin Access Control, decided by IAM's evaluator as
 * for any request: CloudFront's service principal, s3:GetObject on the key, with the distribution as
 * aws:SourceArn (CloudFront reaches S3 over TLS). A bucket without a policy is readable, as the tests' plain
 * buckets expect.
 */
async function cloudFrontMayRead(
  policy: string | undefined,
  bucket: string,
  key: string,
  distributionArn: string,
): Promise<boolean> {
  if (policy === undefined) return true;
  const decided = await simulate(
    'cloudfront.amazonaws.com',
    [],
    {
      action: 's3:GetObject',
      resource: `arn:aws:s3:::${bucket}/${key}`,
      context: { 'aws:SourceArn': distributionArn, 'aws:SecureTransport': 'true' },
    },
    JSON.parse(policy),
  );
  return decided.overallResult === 'Allowed';
}
