import { spawnSync } from 'node:child_process';
import { hostname } from 'node:os';
import { acquireLease, heldByDeadLocalProcess, type LeaseOptions } from './lease';
import type { LeaseRecord, LeaseStore } from './store';

/** Conditional writes as S3 answers them, in memory: each write gets a new ETag. */
function memoryStore(): LeaseStore & { objects: Map<string, { value: LeaseRecord; etag: string }>; writes: number } {
  let version = 0;
  const objects = new Map<string, { value: LeaseRecord; etag: string }>();
  const store = {
    objects,
    writes: 0,
    read: async (key: string) => objects.get(key),
    createIfAbsent: async (key: string, value: LeaseRecord) => {
      if (objects.has(key)) return undefined;
      store.writes++;
      objects.set(key, { value, etag: `"${++version}"` });
      return objects.get(key)!.etag;
    },
    replaceIfMatch: async (key: string, value: LeaseRecord, etag: string) => {
      if (objects.get(key)?.etag !== etag) return undefined;
      store.writes++;
      objects.set(key, { value, etag: `"${++version}"` });
      return objects.get(key)!.etag;
    },
  };
  return store;
}

const options = (store: LeaseStore, extra: Partial<LeaseOptions> = {}): LeaseOptions => ({
  store,
  key: '.nx-aws-deploy/lease.json',
  where: 's3://b/',
  owner: 'me',
  lockTimeoutMs: 0,
  log: () => undefined,
  onLost: () => undefined,
  pollMs: 5,
  ...extra,
});

describe('the deploy lease', () => {
  it('is taken when there is none, refused while held, and taken over once released', async () => {
    const store = memoryStore();
    const first = await acquireLease(options(store, { owner: 'first' }));
    await expect(acquireLease(options(store, { owner: 'second' }))).rejects.toThrow(
      /^Another deploy is shipping to s3:\/\/b\/: first \(since .*\)\. Nothing was changed/,
    );
    await first.release();
    expect(store.objects.get('.nx-aws-deploy/lease.json')!.value.released).toBe(true);
    const second = await acquireLease(options(store, { owner: 'second' }));
    expect(store.objects.get('.nx-aws-deploy/lease.json')!.value.owner).toBe('second');
    await second.release();
  });

  it('reads before it writes: a released lease is taken over with one write, never a create S3 would refuse', async () => {
    const store = memoryStore();
    const calls: string[] = [];
    for (const name of ['read', 'createIfAbsent', 'replaceIfMatch'] as const) {
      const call = store[name] as (...args: unknown[]) => Promise<unknown>;
      Object.assign(store, { [name]: (...args: unknown[]) => (calls.push(name), call(...args)) });
    }
    await (await acquireLease(options(store))).release();
    expect(calls).toEqual(['read', 'createIfAbsent', 'replaceIfMatch']);
    calls.length = 0;
    await (await acquireLease(options(store))).release();
    expect(calls).toEqual(['read', 'replaceIfMatch', 'replaceIfMatch']);
  });

  it('waits for a holder that releases within lockTimeout', async () => {
    const store = memoryStore();
    const first = await acquireLease(options(store, { owner: 'first' }));
    const lines: string[] = [];
    setTimeout(() => void first.release(), 50);
    const second = await acquireLease(
      options(store, { owner: 'second', lockTimeoutMs: 5000, log: (l) => lines.push(l) }),
    );
    expect(lines).toEqual([expect.stringMatching(/^Waiting for the deploy lease on s3:\/\/b\/, held by first/)]);
    await second.release();
  });

  it('lets exactly one of many deploys take over an expired lease', async () => {
    const store = memoryStore();
    let clock = 1_000_000;
    const now = () => clock;
    const dead = await acquireLease(options(store, { owner: 'killed', now, ttlMs: 1000 }));
    clock += 5000; // the holder was SIGKILLed: no renewal, no release
    const attempts = await Promise.allSettled(
      Array.from({ length: 8 }, (_, i) => acquireLease(options(store, { owner: `d${i}`, now, ttlMs: 60_000 }))),
    );
    const winners = attempts.filter((a) => a.status === 'fulfilled');
    expect(winners).toHaveLength(1);
    expect(
      attempts.filter((a) => a.status === 'rejected').map((a) => String((a as PromiseRejectedResult).reason)),
    ).toEqual(Array(7).fill(expect.stringMatching(/Another deploy is shipping to s3:\/\/b\/: d\d/)));
    for (const w of winners)
      await (w as PromiseFulfilledResult<Awaited<ReturnType<typeof acquireLease>>>).value.release();
    await dead.release(); // too late: its ETag moved on, so it changes nothing
    expect(store.objects.get('.nx-aws-deploy/lease.json')!.value.owner).toMatch(/^d\d$/);
  });

  it('takes over at once a lease whose holder was a process of this machine that no longer runs', async () => {
    const store = memoryStore();
    const gone = spawnSync(process.execPath, ['-e', '0']).pid;
    const killed = `ci@${hostname()}:${gone}`;
    expect(heldByDeadLocalProcess(killed)).toBe(true);
    expect(heldByDeadLocalProcess(`ci@${hostname()}:${process.pid}`)).toBe(false);
    expect(heldByDeadLocalProcess(`ci@another-host:${gone}`)).toBe(false);
    expect(heldByDeadLocalProcess('arn:aws:codebuild:us-east-1:000000000000:build/web:0a1b2c')).toBe(false);
    const stale = await acquireLease(options(store, { owner: killed }));
    const lines: string[] = [];
    const next = await acquireLease(options(store, { owner: 'next', log: (l) => lines.push(l) }));
    expect(lines).toEqual([
      expect.stringMatching(/^Took over the deploy lease on s3:\/\/b\/ of ci@.*: that process no longer runs\.$/),
    ]);
    await Promise.all([stale.release(), next.release()]);
    // A lease its (now gone) holder released is simply taken: the usual case of a run after a finished one.
    await acquireLease(options(store, { owner: killed })).then((lease) => lease.release());
    lines.length = 0;
    await acquireLease(options(store, { owner: 'after', log: (l) => lines.push(l) })).then((lease) => lease.release());
    expect(lines).toEqual([]);
  });

  it('counts a write whose answer was lost (the retry then meets If-None-Match) as its own', async () => {
    const store = memoryStore();
    const create = store.createIfAbsent;
    // The first attempt lands but its answer is lost; the SDK's retry meets the object it wrote.
    store.createIfAbsent = async (key, value) => (await create(key, value), create(key, value));
    const lease = await acquireLease(options(store));
    expect(store.objects.get('.nx-aws-deploy/lease.json')!.value.owner).toBe('me');
    await lease.release();
  });

  it('counts a takeover whose answer was lost (the retry then meets If-Match) as its own', async () => {
    const store = memoryStore();
    await (await acquireLease(options(store, { owner: 'before' }))).release();
    const replace = store.replaceIfMatch;
    store.replaceIfMatch = async (key, value, etag) => (await replace(key, value, etag), replace(key, value, etag));
    const lease = await acquireLease(options(store));
    expect(store.objects.get('.nx-aws-deploy/lease.json')!.value.owner).toBe('me');
    store.replaceIfMatch = replace;
    await lease.release();
    expect(store.objects.get('.nx-aws-deploy/lease.json')!.value.released).toBe(true);
  });

  it('renews while held, and reports when another deploy took it over meanwhile', async () => {
    const store = memoryStore();
    const lost: string[] = [];
    const lease = await acquireLease(options(store, { ttlMs: 30, onLost: (m) => lost.push(m) }));
    const writes = store.writes;
    await new Promise((resolve) => setTimeout(resolve, 45));
    expect(store.writes).toBeGreaterThan(writes); // renewed every third of the TTL
    const held = store.objects.get('.nx-aws-deploy/lease.json')!;
    store.objects.set('.nx-aws-deploy/lease.json', { value: { ...held.value, owner: 'thief' }, etag: '"stolen"' });
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(lost).toEqual([
      'the deploy lease on s3://b/ was taken over by thief while this deploy stalled past its expiry',
    ]);
    await lease.release();
    expect(store.objects.get('.nx-aws-deploy/lease.json')!.value.owner).toBe('thief');
  });
});
