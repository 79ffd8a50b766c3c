import { hostname, userInfo } from 'node:os';
import { randomUUID } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { UserError } from '../util/errors';
import { LEASE_FILE } from './bookkeeping';
import type { BucketStore, LeaseRecord, LeaseStore } from './store';
/** A lease not renewed for this long is expired: a deploy that died (SIGKILL, a lost machine) blocks no one for longer. */
export const LEASE_TTL_MS = 60_000;
export const DEFAULT_LOCK_TIMEOUT_SECONDS = 300;

export interface LeaseOptions {
  store: LeaseStore;
  key: string;
  /** For messages: s3://bucket/prefix. */
  where: string;
  owner: string;
  /** How long to wait for another deploy's lease; 0: fail at once. */
  lockTimeoutMs: number;
  log: (line: string) => void;
  signal?: AbortSignal;
  /** Called when a renewal finds the lease taken over (this deploy stalled past its expiry). */
  onLost: (message: string) => void;
  ttlMs?: number;
  now?: () => number;
  pollMs?: number;
}

/** Who this deploy is, for the lease and for whoever waits for it. */
export function leaseOwner(env: NodeJS.ProcessEnv): string {
  if (env.CODEBUILD_BUILD_ARN) return env.CODEBUILD_BUILD_ARN;
  let user = 'unknown';
  try {
    user = userInfo().username;
  } catch {
    // no passwd entry (some containers)
  }
  return `${user}@${hostname()}:${process.pid}`;
}

/**
 * A lease held by a process of this machine (`user@host:pid`) that no longer runs, e.g. a deploy killed with
 * SIGKILL: nobody will renew or release it, so the next deploy here need not wait for it to expire. Builds on
 * other machines (CodeBuild, named by their build ARN) are waited for until their lease expires.
 */
export function heldByDeadLocalProcess(owner: string): boolean {
  const match = /^[^@\s]*@(.+):(\d+)$/.exec(owner);
  if (!match || match[1] !== hostname()) return false;
  try {
    process.kill(Number(match[2]), 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

const describe = (r: LeaseRecord) => `${r.owner} (since ${r.acquiredAt}, lease until ${r.expiresAt})`;

/**
 * Takes the lease: created when there is none, taken over atomically (If-Match on the ETag read) when the
 * holder released it or let it expire, else waited for (up to lockTimeoutMs, saying who holds it). Renewed
 * every third of its TTL until released.
 */
export async function acquireLease(options: LeaseOptions): Promise<DeployLease> {
  const { store, key, log } = options;
  const now = options.now ?? Date.now;
  const ttlMs = options.ttlMs ?? LEASE_TTL_MS;
  const deadline = now() + options.lockTimeoutMs;
  let told = 0;
  for (;;) {
    const record = (): LeaseRecord => ({
      owner: options.owner,
      id: randomUUID(),
      acquiredAt: new Date(now()).toISOString(),
      expiresAt: new Date(now() + ttlMs).toISOString(),
    });
    const mine = record();
    // Whether a conditional write of `mine` landed: its ETag, or, its answer lost and the SDK's retry refused
    // (If-None-Match / If-Match then meet the object it wrote), the lease read back is ours.
    const landed = async (etag: string | undefined) =>
      etag ?? (await store.read(key).then((current) => (current?.value.id === mine.id ? current.etag : undefined)));
    // Read first: after the first deploy the lease is there (released), and a create would only be refused (a 412
    // in the bucket's error metrics on every deploy, and a round trip).
    const held = await store.read(key);
    if (!held) {
      const created = await landed(await store.createIfAbsent(key, mine));
      if (created) return new DeployLease(options, mine, created, ttlMs, now);
      continue; // another deploy created it first
    }
    const dead = !held.value.released && heldByDeadLocalProcess(held.value.owner);
    if (held.value.released || dead || Date.parse(held.value.expiresAt) <= now()) {
      const taken = await landed(await store.replaceIfMatch(key, mine, held.etag));
      if (taken) {
        if (dead)
          log(
            `Took over the deploy lease on ${options.where} of ${describe(held.value)}: that process no longer runs.`,
          );
        else if (!held.value.released)
          log(`Took over the expired deploy lease on ${options.where} of ${describe(held.value)}.`);
        return new DeployLease(options, mine, taken, ttlMs, now);
      }
      continue; // another deploy took it first
    }
    if (now() >= deadline) {
      throw new UserError(
        `Another deploy is shipping to ${options.where}: ${describe(held.value)}. ` +
          (options.lockTimeoutMs > 0
            ? `Waited ${Math.round(options.lockTimeoutMs / 1000)} s ("lockTimeout"); nothing was changed. Run again when it has finished, or raise "lockTimeout".`
            : 'Nothing was changed; run again when it has finished (or without --no-wait to wait for it).'),
      );
    }
    if (now() - told >= 30_000) {
      log(`Waiting for the deploy lease on ${options.where}, held by ${describe(held.value)}…`);
      told = now();
    }
    await sleep(Math.min(options.pollMs ?? 2000, Math.max(0, deadline - now())), options.signal);
    if (options.signal?.aborted) throw options.signal.reason;
  }
}

export class DeployLease {
  private timer?: NodeJS.Timeout;
  private renewing?: Promise<void>;

  constructor(
    private readonly options: LeaseOptions,
    private record: LeaseRecord,
    private etag: string,
    private readonly ttlMs: number,
    private readonly now: () => number,
  ) {
    this.timer = setInterval(() => {
      this.renewing ??= this.renew().finally(() => (this.renewing = undefined));
    }, ttlMs / 3);
    this.timer.unref();
  }

  private async renew(): Promise<void> {
    const next = { ...this.record, expiresAt: new Date(this.now() + this.ttlMs).toISOString() };
    try {
      const etag = await this.options.store.replaceIfMatch(this.options.key, next, this.etag);
      if (etag) {
        [this.record, this.etag] = [next, etag];
        return;
      }
    } catch {
      return; // a failed renewal is tried again at the next tick, well before the lease expires
    }
    this.stop();
    const holder = await this.options.store.read(this.options.key).catch(() => undefined);
    this.options.onLost(
      `the deploy lease on ${this.options.where} was taken over${holder ? ` by ${holder.value.owner}` : ''} while this deploy stalled past its expiry`,
    );
  }

  private stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Lets the next deploy in at once (it takes over a released lease); best effort, the lease expires anyway. */
  async release(): Promise<void> {
    this.stop();
    await this.renewing;
    await this.options.store
      .replaceIfMatch(
        this.options.key,
        { ...this.record, released: true, expiresAt: new Date(this.now()).toISOString() },
        this.etag,
      )
      .catch(() => undefined);
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

/**
 * Runs `work` on a bucket store opened for it while this process holds the lease of `prefix` (a dry run takes
 * none): deploys and rollbacks of one bucket + prefix go one at a time. A lease taken over by another process
 * (this one stalled past its expiry) aborts work's signal as a stop signal would.
 */
export async function underLease<T>(
  openStore: (signal: AbortSignal) => BucketStore,
  options: {
    bucket: string;
    /** Normalised: '' or ending in '/'. */
    prefix: string;
    leaseOwner: string;
    /** Seconds to wait for another holder; see DEFAULT_LOCK_TIMEOUT_SECONDS. */
    lockTimeout?: number;
    dryRun?: boolean;
    log: (line: string) => void;
    signal?: AbortSignal;
    /** Checks that may refuse the work before the lease is taken (and written into a bucket that has none). */
    beforeLease?: (store: BucketStore) => Promise<void>;
  },
  work: (store: BucketStore, signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const leaseLost = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, leaseLost.signal]) : leaseLost.signal;
  // Every request in flight listens to it: many listeners are expected, not a leak.
  setMaxListeners(0, signal);
  const store = openStore(signal);
  await options.beforeLease?.(store);
  const lease = options.dryRun
    ? undefined
    : await acquireLease({
        store: store.leaseStore(),
        key: options.prefix + LEASE_FILE,
        where: `s3://${options.bucket}/${options.prefix}`,
        owner: options.leaseOwner,
        lockTimeoutMs: (options.lockTimeout ?? DEFAULT_LOCK_TIMEOUT_SECONDS) * 1000,
        log: options.log,
        signal,
        onLost: (message) => {
          options.log(`Stopping: ${message}.`);
          leaseLost.abort('the loss of the deploy lease');
        },
      });
  try {
    return await work(store, signal);
  } finally {
    await lease?.release();
  }
}
