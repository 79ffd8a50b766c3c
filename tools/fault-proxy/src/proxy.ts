import { createServer, request as forward, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { AwsError, describeRequest, errorResponse, type Service } from 'local-aws';

/**
 * `stall` holds a connection for `stallMs`, then resets it; `hang` accepts the request and never answers nor
 * closes (until the proxy stops): what only the client's own timeouts end. `hang` is never picked by default.
 */
export type FaultKind = 'internal-error' | 'slow-down' | 'throttling' | 'reset' | 'stall' | 'hang';
export const FAULT_KINDS: readonly FaultKind[] = ['internal-error', 'slow-down', 'throttling', 'reset', 'stall'];

export interface RequestInfo {
  service: Service;
  /** The API operation, as far as the request line tells it (PutObject, UploadPart, CreateInvalidation, …). */
  operation: string;
  method: string;
  /** Decoded path, e.g. /bucket/assets/app.js. */
  path: string;
}

export interface FaultProxyOptions {
  /** The local AWS to forward to, e.g. http://127.0.0.1:4566. */
  target: string;
  /** Probability that an eligible request gets a fault (0..1). */
  rate: number;
  /** The same seed gives the same sequence of decisions. */
  seed?: number;
  kinds?: readonly FaultKind[];
  /** Operations that may get faults (default: all). */
  operations?: readonly string[];
  /** At most this many faults in all (default 1 000). */
  maxFaults?: number;
  /** A stalled connection is held this long, then reset (default 1 500 ms, at most 30 s). */
  stallMs?: number;
  /** Delay added to every forwarded request (default 0). */
  latencyMs?: number;
  /** Requests beyond this many are refused with 503 (default 100 000): a runaway retry loop cannot go on for ever. */
  maxRequests?: number;
  /** The proxy closes itself after this long (default 10 minutes), so a test that forgets it cannot hang. */
  lifetimeMs?: number;
  /**
   * Sees every request before the proxy decides on it (tests use it to act at a chosen moment); a promise it
   * answers holds the request until it settles (to let the client see what the test did first).
   */
  onRequest?: (info: RequestInfo) => unknown;
}

export interface FaultProxy {
  url: string;
  stats(): {
    requests: number;
    faults: number;
    byKind: Partial<Record<FaultKind, number>>;
    byOperation: Record<string, number>;
  };
  /** Changes the fault rate from now on (0 turns faults off). */
  setRate(rate: number): void;
  stop(): Promise<void>;
}

/** mulberry32: a small seeded PRNG, so a failing run can be replayed with its seed. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Names a request as the local AWS does, so faults and counters speak of the same operations. */
function requestInfo(req: IncomingMessage): RequestInfo {
  const url = new URL(req.url ?? '/', 'http://proxy');
  const method = req.method ?? 'GET';
  const { service, operation } = describeRequest(method, url, req.headers);
  return { service, operation, method, path: decodeURIComponent(url.pathname) };
}

/** The error each service answers for a kind of fault, in its own wire format, so the SDK parses it as the real thing. */
function errorFor(kind: FaultKind, service: Service): { status: number; code: string } {
  if (kind === 'internal-error')
    return { status: 500, code: service === 'codepipeline' ? 'InternalFailure' : 'InternalError' };
  if (kind === 'slow-down')
    return service === 's3' ? { status: 503, code: 'SlowDown' } : { status: 503, code: 'ServiceUnavailable' };
  return service === 's3'
    ? { status: 503, code: 'SlowDown' }
    : service === 'cloudfront'
      ? { status: 400, code: 'Throttling' }
      : { status: 400, code: 'ThrottlingException' };
}

function sendError(
  res: ServerResponse,
  req: IncomingMessage,
  service: Service,
  status: number,
  code: string,
  message: string,
): void {
  const answer = errorResponse(service, new AwsError(status, code, message), {
    requestId: 'fault-proxy',
    method: req.method ?? 'GET',
  });
  // The request body is read and dropped first, as a server does, so the client sees the answer and not a broken pipe.
  req.resume();
  req.on('end', () => {
    res.writeHead(answer.status, {
      ...answer.headers,
      'Content-Length': Buffer.byteLength(answer.body ?? ''),
      'x-amzn-ErrorType': code,
      'x-amz-request-id': 'fault-proxy',
    });
    res.end(answer.body);
  });
}

/**
 * A loopback proxy between the SDK and the local AWS that injects AWS-shaped faults at a seeded rate: 500s,
 * 503 SlowDown, throttling, reset connections and stalled ones. Bounded in faults, requests and lifetime.
 */
export async function startFaultProxy(options: FaultProxyOptions): Promise<FaultProxy> {
  const target = new URL(options.target);
  const next = random(options.seed ?? 1);
  const kinds = options.kinds ?? FAULT_KINDS;
  const maxFaults = options.maxFaults ?? 1000;
  const maxRequests = options.maxRequests ?? 100_000;
  const stallMs = Math.min(options.stallMs ?? 1500, 30_000);
  let rate = options.rate;
  let requests = 0;
  let faults = 0;
  const byKind: Partial<Record<FaultKind, number>> = {};
  const byOperation: Record<string, number> = {};
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  const later = (ms: number, run: () => void) => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      run();
    }, ms);
    timers.add(timer);
  };

  const server = createServer((req, res) => {
    requests++;
    const info = requestInfo(req);
    const held = options.onRequest?.(info);
    if (requests > maxRequests)
      return sendError(
        res,
        req,
        info.service,
        503,
        'ServiceUnavailable',
        `fault-proxy: more than ${maxRequests} requests`,
      );
    const eligible = faults < maxFaults && (!options.operations || options.operations.includes(info.operation));
    if (eligible && next() < rate) {
      const kind = kinds[Math.floor(next() * kinds.length)];
      faults++;
      byKind[kind] = (byKind[kind] ?? 0) + 1;
      byOperation[info.operation] = (byOperation[info.operation] ?? 0) + 1;
      if (kind === 'reset') return void req.socket.destroy();
      if (kind === 'stall') return later(stallMs, () => req.socket.destroy());
      if (kind === 'hang') return void req.resume();
      const { status, code } = errorFor(kind, info.service);
      return sendError(res, req, info.service, status, code, `Injected by fault-proxy (${kind}).`);
    }
    const send = () => {
      const upstream = forward(
        { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      upstream.on('error', () => req.socket.destroy());
      // A client that dies mid-body (SIGKILL) must not leave half a request waiting upstream.
      req.on('close', () => {
        if (!req.complete) upstream.destroy();
      });
      req.pipe(upstream);
    };
    const go = () => (options.latencyMs ? later(options.latencyMs, send) : send());
    if (held instanceof Promise) void held.then(go, go);
    else go();
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const stop = async () => {
    for (const timer of timers) clearTimeout(timer);
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  const lifetime = setTimeout(() => void stop(), options.lifetimeMs ?? 600_000);
  lifetime.unref();
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    stats: () => ({ requests, faults, byKind: { ...byKind }, byOperation: { ...byOperation } }),
    setRate: (value) => void (rate = value),
    stop: async () => {
      clearTimeout(lifetime);
      if (server.listening) await stop();
    },
  };
}
