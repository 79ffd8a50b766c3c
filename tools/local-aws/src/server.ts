import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { adminApi, ADMIN_PREFIX } from './admin';
import { CloudFrontService } from './cloudfront/api';
import { KeyValueStoreService } from './cloudfront/kvs';
import { Edge } from './cloudfront/edge';
import { CloudFrontState } from './cloudfront/state';
import { CodePipelineService } from './codepipeline/api';
import { CodePipelineState } from './codepipeline/state';
import { AwsError, errorResponse } from './errors';
import { Faults } from './faults';
import { newRequestId, readRequest, sendResponse, type LocalRequest, type LocalResponse } from './http';
import { iamChecks, type IamCheck } from './iam/actions';
import { authorize } from './iam/authorize';
import { Roles } from './iam/roles';
import { serviceActor } from './iam/service-actor';
import { verifySignature } from './iam/signature';
import { describeRequest, type Service } from './operations';
import { persisted } from './persistence';
import { RequestLog, type LoggedRequest } from './request-log';
import { S3Service } from './s3/handler';
import { S3Store } from './s3/store';
import { StsService, stsOperation } from './sts/api';

export interface LocalAwsOptions {
  /** 0 picks a free port. */
  port?: number;
  host?: string;
  /** Folder that keeps buckets, distributions and pipelines across restarts; in memory when absent. */
  dataDir?: string;
  /** How long an invalidation stays InProgress (default 2 s). */
  invalidationMs?: number;
  /** How long a KeyValueStore write takes to reach the local edge (default 0: at once). */
  kvsPropagationMs?: number;
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

/** The error code each service answers a refused request with. */
const ACCESS_DENIED: Record<Service, string> = {
  s3: 'AccessDenied',
  cloudfront: 'AccessDenied',
  codepipeline: 'AccessDeniedException',
  sts: 'AccessDenied',
  'cloudfront-keyvaluestore': 'AccessDeniedException',
};

/** Who made a request and what IAM decided for it, for the request log. */
type Authorized = Pick<LoggedRequest, 'principal' | 'authorizations'>;

/**
 * Starts the local AWS: one HTTP listener for the S3, CloudFront, CodePipeline and STS APIs (told apart by
 * `describeRequest`), the local edge of each distribution (by Host), and the `/_local/` admin API. A request signed
 * with credentials from its STS is verified and authorized as the session's role before its service sees it.
 */
export async function start(options: LocalAwsOptions = {}): Promise<LocalAws> {
  const { dataDir, debug = false } = options;
  const store = new S3Store(dataDir);
  const cloudFrontState = new CloudFrontState();
  const codePipelineState = new CodePipelineState();
  const s3 = new S3Service(store);
  // Distributions, functions and key value stores are one state, restored once and saved after each change.
  const saveCloudFront = persisted(dataDir, 'cloudfront.json', cloudFrontState);
  const kvs = new KeyValueStoreService(cloudFrontState, saveCloudFront, options.kvsPropagationMs ?? 0);
  const edge = new Edge(cloudFrontState, store, kvs);
  const cloudfront = new CloudFrontService(cloudFrontState, {
    invalidationMs: options.invalidationMs ?? 2000,
    edgeDomain: EDGE_DOMAIN,
    onInvalidate: (distribution, paths) => edge.invalidate(distribution, paths),
    onChange: saveCloudFront,
  });
  const roles = new Roles();
  const requestLog = new RequestLog();
  /** The bucket policy that applies, with the role's policies, to an S3 authorization. */
  const resourcePolicyOf = ({ action, resource }: IamCheck) => {
    if (!action.startsWith('s3:')) return undefined;
    const policy = store.buckets.get(resource.slice('arn:aws:s3:::'.length).split('/')[0])?.policy;
    return policy === undefined ? undefined : JSON.parse(policy);
  };
  const actAs = serviceActor(roles, requestLog, resourcePolicyOf);
  const codepipeline = new CodePipelineService(
    codePipelineState,
    persisted(dataDir, 'codepipeline.json', codePipelineState),
    roles,
    actAs,
  );
  const sts = new StsService(roles);
  const services: Record<Service, { handle(ctx: LocalRequest): LocalResponse }> = {
    s3,
    cloudfront,
    codepipeline,
    sts,
    'cloudfront-keyvaluestore': kvs,
  };
  const faults = new Faults();
  const admin = adminApi({ requestLog, faults, cloudfront, edge, codepipeline, roles, actAs });

  /** An API request: named, handled by its service, answered in its protocol (errors too). */
  const answer = async (
    req: IncomingMessage,
    url: URL,
  ): Promise<{ label: string; response: LocalResponse; authorized?: Authorized }> => {
    if (url.pathname.startsWith(ADMIN_PREFIX))
      return { label: 'local', response: await admin(await readRequest(req, url, { operation: 'Local', params: [] })) };
    const named = describeRequest(req.method ?? 'GET', url, req.headers);
    const ctx = await readRequest(req, url, named);
    if (named.service === 'sts') ctx.operation = stsOperation(ctx);
    const label = `${named.service}.${ctx.operation}`;
    let response: LocalResponse;
    let authorized: Authorized | undefined;
    try {
      // Credentials from the local STS act as their role: signed with its secret, each request is decided by IAM
      // before its service sees it.
      const session = roles.session(ctx.scope.accessKeyId);
      if (session) {
        if (session.expiration.getTime() < Date.now())
          throw new AwsError(400, 'ExpiredToken', 'The security token included in the request is expired');
        await verifySignature(req, url, ctx.body, named.service, session);
        const checks = iamChecks(named.service, ctx, ctx.scope.region ?? 'us-east-1');
        const { decisions, denial } = await authorize(session, roles.get(session.roleArn)!, checks, resourcePolicyOf);
        authorized = { principal: session.arn, authorizations: decisions };
        if (denial)
          throw new AwsError(named.service === 'codepipeline' ? 400 : 403, ACCESS_DENIED[named.service], denial);
      }
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
    return { label, response, authorized };
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const started = Date.now();
    // The absolute form a client sends through a proxy (HTTP_PROXY pointing here) is taken as its path (RFC 9112
    // 3.2.2): how the aws CLI reaches the KeyValueStore API's <account>.localhost host, a name Python cannot resolve.
    if (/^https?:\/\//i.test(req.url ?? '')) {
      const target = new URL(req.url!);
      req.url = `${target.pathname}${target.search}`;
    }
    const url = new URL(req.url ?? '/', 'http://local');
    const distribution = edge.distributionForHost(req.headers.host, EDGE_DOMAIN);
    let label: string;
    let response: LocalResponse;
    let authorized: Authorized | undefined;
    if (distribution) {
      label = `edge.${distribution.id}`;
      req.resume();
      response = await edge.serve(distribution, req, url);
    } else {
      ({ label, response, authorized } = await answer(req, url));
    }
    if (label !== 'local') {
      requestLog.record({
        operation: label,
        method: req.method ?? 'GET',
        path: decodeURIComponent(url.pathname),
        status: response.status,
        ...authorized,
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
      // A client that gave up while sending (a stopped deploy aborting its uploads) is no failure of ours.
      if ((error as NodeJS.ErrnoException).code === 'ECONNRESET' && req.destroyed) return void res.destroy();
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
