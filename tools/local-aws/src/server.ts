import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { AwsError } from './errors';
import { decodeAwsChunked, isAwsChunked, newRequestId, type LocalRequest, type LocalResponse } from './http';
import { signingScope } from './sigv4';
import { S3Store } from './s3/store';
import { S3Service, s3ErrorResponse } from './s3/handler';
import { CloudFrontState } from './cloudfront/state';
import { CloudFrontService, cloudFrontErrorResponse } from './cloudfront/api';
import { Edge } from './cloudfront/edge';
import { CodePipelineService, CodePipelineState, codePipelineErrorResponse } from './codepipeline/api';

export interface LocalAwsOptions {
  /** 0 picks a free port. */
  port?: number;
  host?: string;
  /** Folder that keeps buckets, distributions and pipelines across restarts; in memory when absent. */
  dataDir?: string;
  /** How long an invalidation stays InProgress (default 2 s). */
  invalidationMs?: number;
  /** Log every request on stderr. */
  debug?: boolean;
}

export interface LocalAws {
  /** Endpoint for the SDK and the aws CLI (`AWS_ENDPOINT_URL`, `--endpoint-url`). */
  url: string;
  port: number;
  /** The local edge of a distribution, e.g. `http://e123.cloudfront.localhost:4566`. */
  edgeUrl(distributionId: string): string;
  stop(): Promise<void>;
}

export const EDGE_DOMAIN = 'cloudfront.localhost';

type Service = 's3' | 'cloudfront' | 'codepipeline';

const MAX_LOGGED_REQUESTS = 50_000;

/** A fault for tests: after the request was handled, reset the connection or answer an error instead. */
interface Fault {
  /** `service.Operation`, e.g. `s3.PutObject`. */
  operation: string;
  count: number;
  action: 'reset' | 'error';
  status?: number;
  code?: string;
  pathIncludes?: string;
}

/** An error in the protocol of the service that answers it. */
function errorResponse(service: Service | undefined, e: AwsError, ctx: LocalRequest): LocalResponse {
  if (service === 'cloudfront') return cloudFrontErrorResponse(e, ctx);
  if (service === 'codepipeline') return codePipelineErrorResponse(e);
  if (service === 's3') return s3ErrorResponse(e, ctx);
  return {
    status: e.status,
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ code: e.code, message: e.message }),
  };
}

export async function start(options: LocalAwsOptions = {}): Promise<LocalAws> {
  const { dataDir, debug = false } = options;
  if (dataDir) mkdirSync(dataDir, { recursive: true });
  const store = new S3Store(dataDir);
  const cloudFrontState = new CloudFrontState();
  const codePipelineState = new CodePipelineState();
  const saved = (name: string) =>
    dataDir && existsSync(join(dataDir, name)) ? JSON.parse(readFileSync(join(dataDir, name), 'utf8')) : undefined;
  const persist = (name: string, state: { toJSON(): unknown }) => () => {
    if (dataDir) writeFileSync(join(dataDir, name), JSON.stringify(state));
  };
  if (saved('cloudfront.json')) cloudFrontState.restore(saved('cloudfront.json'));
  if (saved('codepipeline.json')) codePipelineState.restore(saved('codepipeline.json'));

  const s3 = new S3Service(store);
  const edge = new Edge(cloudFrontState, store);
  const cloudfront = new CloudFrontService(cloudFrontState, {
    invalidationMs: options.invalidationMs ?? 2000,
    edgeDomain: EDGE_DOMAIN,
    onInvalidate: (distribution, paths) => edge.invalidate(distribution, paths),
    onChange: persist('cloudfront.json', cloudFrontState),
  });
  const codepipeline = new CodePipelineService(codePipelineState, persist('codepipeline.json', codePipelineState));
  const requestCounts = new Map<string, number>();
  /** The latest requests in order, so tests can check what happened before what. */
  const requestLog: { operation: string; method: string; path: string; status: number }[] = [];
  /** Faults a test asked for: the next `count` requests of an operation fail as asked. */
  const faults: Fault[] = [];

  const admin = async (ctx: LocalRequest): Promise<LocalResponse> => {
    const path = ctx.url.pathname;
    const json = (value: unknown, status = 200): LocalResponse => ({
      status,
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(value),
    });
    const input = () => (ctx.body.length ? JSON.parse(ctx.body.toString('utf8')) : {});
    let match: RegExpExecArray | null;
    if (path === '/_local/health') return json({ ok: true });
    if (path === '/_local/requests' && ctx.method === 'GET') return json(Object.fromEntries([...requestCounts].sort()));
    if (path === '/_local/requests' && ctx.method === 'DELETE') {
      requestCounts.clear();
      requestLog.length = 0;
      return json({});
    }
    if (path === '/_local/requests/log') return json(requestLog);
    if (path === '/_local/faults' && ctx.method === 'POST') {
      faults.push(input());
      return json(faults, 201);
    }
    if (path === '/_local/faults' && ctx.method === 'DELETE') {
      faults.length = 0;
      return json({});
    }
    if ((match = /^\/_local\/cloudfront\/([^/]+)\/cache$/.exec(path))) {
      cloudfront.distribution(match[1]);
      return json({ paths: edge.cachedPaths(match[1]), ...edge.statsFor(match[1]) });
    }
    if (path === '/_local/codepipeline/jobs' && ctx.method === 'POST') {
      const job = codepipeline.createJob(input());
      return json({ jobId: job.id, event: job.event }, 201);
    }
    if ((match = /^\/_local\/codepipeline\/jobs\/([^/]+)$/.exec(path))) {
      const job = codePipelineState.jobs.get(match[1]);
      return job ? json(job) : json({ message: `no job ${match[1]}` }, 404);
    }
    if ((match = /^\/_local\/codepipeline\/executions\/([^/]+)$/.exec(path)) && ctx.method === 'PUT') {
      return json(codepipeline.setExecutionStatus(match[1], input().status));
    }
    return json({ message: `no local endpoint ${ctx.method} ${path}` }, 404);
  };

  const serviceOf = (ctx: LocalRequest): Service => {
    if (ctx.scope.service === 'cloudfront' || ctx.scope.service === 'codepipeline') return ctx.scope.service;
    if (String(ctx.req.headers['x-amz-target'] ?? '').startsWith('CodePipeline_')) return 'codepipeline';
    return 's3';
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const started = Date.now();
    const url = new URL(req.url ?? '/', 'http://local');
    const distribution = edge.distributionForHost(req.headers.host, EDGE_DOMAIN);
    let response: LocalResponse;
    let label: string;
    if (distribution) {
      label = `edge.${distribution.id}`;
      req.resume();
      response = await edge.serve(distribution, req, url);
    } else {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const raw = Buffer.concat(chunks);
      const { body, trailers } = isAwsChunked(req) ? decodeAwsChunked(raw) : { body: raw, trailers: {} };
      const ctx: LocalRequest = {
        req,
        method: req.method ?? 'GET',
        url,
        body,
        trailers,
        scope: signingScope(req, url),
        requestId: newRequestId(),
        operation: 'Unknown',
      };
      const service = url.pathname.startsWith('/_local/') ? undefined : serviceOf(ctx);
      try {
        if (!service) response = await admin(ctx);
        else if (service === 'cloudfront') response = cloudfront.handle(ctx);
        else if (service === 'codepipeline') response = codepipeline.handle(ctx);
        else response = s3.handle(ctx);
      } catch (error) {
        if (!(error instanceof AwsError)) console.error(`local-aws: ${req.method} ${req.url} failed:`, error);
        const awsError =
          error instanceof AwsError
            ? error
            : new AwsError(500, 'InternalError', `We encountered an internal error: ${(error as Error).message}`);
        response = errorResponse(service, awsError, ctx);
      }
      label = service ? `${service}.${ctx.operation}` : 'local';
      response.headers = { 'x-amz-request-id': ctx.requestId, 'x-amzn-RequestId': ctx.requestId, ...response.headers };
    }
    if (label !== 'local') {
      requestCounts.set(label, (requestCounts.get(label) ?? 0) + 1);
      requestLog.push({
        operation: label,
        method: req.method ?? 'GET',
        path: decodeURIComponent(url.pathname),
        status: response.status,
      });
      if (requestLog.length > MAX_LOGGED_REQUESTS) requestLog.shift();
      const fault = faults.find(
        (f) => f.operation === label && f.count > 0 && (!f.pathIncludes || url.pathname.includes(f.pathIncludes)),
      );
      if (fault) {
        fault.count--;
        if (debug) console.error(`local-aws: injected ${fault.action} into ${label} ${url.pathname}`);
        if (fault.action === 'reset') {
          req.socket.destroy();
          return;
        }
        response = errorResponse(
          label.split('.')[0] as Service,
          new AwsError(fault.status ?? 503, fault.code ?? 'SlowDown', `Injected fault: ${fault.code ?? 'SlowDown'}.`),
          {
            req,
            method: req.method ?? 'GET',
            url,
            body: Buffer.alloc(0),
            trailers: {},
            scope: {},
            requestId: newRequestId(),
            operation: label,
          },
        );
      }
    }
    const body = typeof response.body === 'string' ? Buffer.from(response.body, 'utf8') : response.body;
    const headers = { ...response.headers };
    if (body && !Object.keys(headers).some((h) => h.toLowerCase() === 'content-length'))
      headers['Content-Length'] = body.length;
    if (!body && !Object.keys(headers).some((h) => h.toLowerCase() === 'content-length')) headers['Content-Length'] = 0;
    res.writeHead(response.status, headers);
    res.end(req.method === 'HEAD' ? undefined : body);
    if (debug)
      console.error(
        `local-aws: ${req.method} ${req.headers.host ?? ''}${req.url} -> ${label} ${response.status} ${Date.now() - started}ms`,
      );
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((error) => {
      console.error('local-aws: request failed', error);
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });
  server.keepAliveTimeout = 65_000;
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 4566, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://${host}:${port}`,
    port,
    edgeUrl: (id) => `http://${id.toLowerCase()}.${EDGE_DOMAIN}:${port}`,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
