import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { adminApi, ADMIN_PREFIX } from './admin';
import { CloudFrontService } from './cloudfront/api';
import { Edge } from './cloudfront/edge';
import { CloudFrontState } from './cloudfront/state';
import { CodePipelineService } from './codepipeline/api';
import { CodePipelineState } from './codepipeline/state';
import { AwsError, errorResponse } from './errors';
import { Faults } from './faults';
import { newRequestId, readRequest, sendResponse, type LocalRequest, type LocalResponse } from './http';
import { describeRequest, type Service } from './operations';
import { persisted } from './persistence';
import { RequestLog } from './request-log';
import { S3Service } from './s3/handler';
import { S3Store } from './s3/store';

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

/**
 * Starts the local AWS: one HTTP listener for the S3, CloudFront and CodePipeline APIs (told apart by
 * `describeRequest`), the local edge of each distribution (by Host), and the `/_local/` admin API.
 */
export async function start(options: LocalAwsOptions = {}): Promise<LocalAws> {
  const { dataDir, debug = false } = options;
  const store = new S3Store(dataDir);
  const cloudFrontState = new CloudFrontState();
  const codePipelineState = new CodePipelineState();
  const s3 = new S3Service(store);
  const edge = new Edge(cloudFrontState, store);
  const cloudfront = new CloudFrontService(cloudFrontState, {
    invalidationMs: options.invalidationMs ?? 2000,
    edgeDomain: EDGE_DOMAIN,
    onInvalidate: (distribution, paths) => edge.invalidate(distribution, paths),
    onChange: persisted(dataDir, 'cloudfront.json', cloudFrontState),
  });
  const codepipeline = new CodePipelineService(
    codePipelineState,
    persisted(dataDir, 'codepipeline.json', codePipelineState),
  );
  const services: Record<Service, { handle(ctx: LocalRequest): LocalResponse }> = { s3, cloudfront, codepipeline };
  const requestLog = new RequestLog();
  const faults = new Faults();
  const admin = adminApi({ requestLog, faults, cloudfront, edge, codepipeline });

  /** An API request: named, handled by its service, answered in its protocol (errors too). */
  const answer = async (req: IncomingMessage, url: URL): Promise<{ label: string; response: LocalResponse }> => {
    if (url.pathname.startsWith(ADMIN_PREFIX))
      return { label: 'local', response: admin(await readRequest(req, url, { operation: 'Local', params: [] })) };
    const named = describeRequest(req.method ?? 'GET', url, req.headers);
    const ctx = await readRequest(req, url, named);
    let response: LocalResponse;
    try {
      response = services[named.service].handle(ctx);
    } catch (error) {
      if (!(error instanceof AwsError)) console.error(`local-aws: ${req.method} ${req.url} failed:`, error);
      const awsError =
        error instanceof AwsError
          ? error
          : new AwsError(500, 'InternalError', `We encountered an internal error: ${(error as Error).message}`);
      response = errorResponse(named.service, awsError, ctx);
    }
    response.headers = { 'x-amz-request-id': ctx.requestId, 'x-amzn-RequestId': ctx.requestId, ...response.headers };
    return { label: `${named.service}.${named.operation}`, response };
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const started = Date.now();
    const url = new URL(req.url ?? '/', 'http://local');
    const distribution = edge.distributionForHost(req.headers.host, EDGE_DOMAIN);
    let label: string;
    let response: LocalResponse;
    if (distribution) {
      label = `edge.${distribution.id}`;
      req.resume();
      response = await edge.serve(distribution, req, url);
    } else {
      ({ label, response } = await answer(req, url));
    }
    if (label !== 'local') {
      requestLog.record({
        operation: label,
        method: req.method ?? 'GET',
        path: decodeURIComponent(url.pathname),
        status: response.status,
      });
      const fault = faults.take(label, url.pathname);
      if (fault) {
        if (debug) console.error(`local-aws: injected ${fault.action} into ${label} ${url.pathname}`);
        if (fault.action === 'reset') return void req.socket.destroy();
        const code = fault.code ?? 'SlowDown';
        response = errorResponse(
          label.split('.')[0] as Service,
          new AwsError(fault.status ?? 503, code, `Injected fault: ${code}.`),
          { requestId: newRequestId(), method: req.method ?? 'GET' },
        );
      }
    }
    sendResponse(req, res, response);
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
