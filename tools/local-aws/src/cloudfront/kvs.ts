import { randomUUID } from 'node:crypto';
import { AwsError } from '../errors';
import { header, type LocalRequest, type LocalResponse } from '../http';
import type { CloudFrontState, KeyValueStore } from './state';

/** CloudFront's KeyValueStore limits: keys of at most 512 characters, values of at most 1 024, 5 MB a store. */
/** CloudFront's: a key's and a value's length, a store's bytes, a ListKeys page and the keys of one UpdateKeys. */
export const KVS_LIMITS = {
  keyChars: 512,
  valueChars: 1024,
  storeBytes: 5 * 1024 * 1024,
  listPage: 50,
  updateKeys: 50,
};

/**
 * The KeyValueStore data-plane API (`cloudfront-keyvaluestore`, REST-JSON, signed with SigV4A): keys read and
 * written by the store's ARN, every write naming the store's current version (`If-Match`: its ETag), a stale one
 * refused with ConflictException, each write giving the store a new version. The API answers at once; the edges
 * read a write only `propagationMs` later (see `edgeValue`), as CloudFront's do within seconds.
 */
export class KeyValueStoreService {
  constructor(
    private readonly state: CloudFrontState,
    private readonly onChange: () => void,
    private readonly propagationMs: number,
  ) {}

  handle(ctx: LocalRequest): LocalResponse {
    const [arn, key = ''] = ctx.params;
    const store = this.state.keyValueStoreByArn(arn);
    if (!store) throw new AwsError(404, 'ResourceNotFoundException', `Key value store ${arn} was not found.`);
    const input = () => {
      try {
        return JSON.parse(ctx.body.toString('utf8') || '{}');
      } catch {
        throw new AwsError(400, 'ValidationException', 'The request body is not valid JSON.');
      }
    };
    switch (ctx.operation) {
      case 'DescribeKeyValueStore':
        return json(
          {
            KvsARN: store.arn,
            ...sizeOf(store),
            Created: Date.parse(store.created) / 1000,
            LastModified: Date.parse(store.lastModified) / 1000,
            Status: 'READY',
          },
          store.version,
        );
      case 'GetKey': {
        const value = store.items[key];
        if (value === undefined) throw new AwsError(404, 'ResourceNotFoundException', `Key ${key} was not found.`);
        return json({ Key: key, Value: value, ...sizeOf(store) });
      }
      case 'ListKeys':
        return json(this.listKeys(store, ctx.url.searchParams));
      case 'PutKey':
        return this.write(ctx, store, [{ Key: key, Value: input().Value }], []);
      case 'DeleteKey':
        if (store.items[key] === undefined)
          throw new AwsError(404, 'ResourceNotFoundException', `Key ${key} was not found.`);
        return this.write(ctx, store, [], [{ Key: key }]);
      case 'UpdateKeys': {
        const { Puts = [], Deletes = [] } = input();
        if (Puts.length + Deletes.length > KVS_LIMITS.updateKeys)
          throw new AwsError(
            402,
            'ServiceQuotaExceededException',
            `UpdateKeys writes at most ${KVS_LIMITS.updateKeys} keys a request (${Puts.length + Deletes.length} given).`,
          );
        return this.write(ctx, store, Puts, Deletes);
      }
      default:
        throw new AwsError(400, 'ValidationException', `The local KeyValueStore does not implement ${ctx.operation}.`);
    }
  }

  /** What the edges read of `key` at `now`: the value written last at least `propagationMs` before. */
  edgeValue(store: KeyValueStore, key: string, now = Date.now()): string | undefined {
    const reached = (store.writes[key] ?? []).filter((w) => w.at <= now - this.propagationMs);
    return reached.length ? (reached[reached.length - 1].value ?? undefined) : undefined;
  }

  /** The keys the edges hold at `now`, for `meta()`. */
  edgeKeyCount(store: KeyValueStore, now = Date.now()): number {
    return Object.keys(store.writes).filter((key) => this.edgeValue(store, key, now) !== undefined).length;
  }

  private listKeys(store: KeyValueStore, query: URLSearchParams) {
    const max = Number(query.get('MaxResults') ?? KVS_LIMITS.listPage);
    if (!Number.isInteger(max) || max < 1 || max > KVS_LIMITS.listPage)
      throw new AwsError(400, 'ValidationException', `MaxResults must be from 1 to ${KVS_LIMITS.listPage}.`);
    const keys = Object.keys(store.items).sort();
    const after = query.get('NextToken');
    const start = after === null ? 0 : keys.findIndex((k) => k > Buffer.from(after, 'base64url').toString('utf8'));
    const page = start < 0 ? [] : keys.slice(start, start + max);
    const more = start >= 0 && start + max < keys.length;
    return {
      Items: page.map((Key) => ({ Key, Value: store.items[Key] })),
      ...(more ? { NextToken: Buffer.from(page[page.length - 1]).toString('base64url') } : {}),
    };
  }

  /** One write of the store, all or nothing: it must name the store's current version. */
  private write(
    ctx: LocalRequest,
    store: KeyValueStore,
    puts: { Key?: unknown; Value?: unknown }[],
    deletes: { Key?: unknown }[],
  ): LocalResponse {
    const ifMatch = header(ctx.req, 'if-match');
    if (!ifMatch) throw new AwsError(400, 'ValidationException', 'IfMatch (the store ETag) is required.');
    if (ifMatch !== store.version)
      throw new AwsError(409, 'ConflictException', 'Pre-Condition failed: the store has changed since that ETag.');
    for (const { Key, Value } of puts) {
      if (typeof Key !== 'string' || !Key.length || Key.length > KVS_LIMITS.keyChars)
        throw new AwsError(400, 'ValidationException', `A key must have 1 to ${KVS_LIMITS.keyChars} characters.`);
      if (typeof Value !== 'string' || Value.length > KVS_LIMITS.valueChars)
        throw new AwsError(
          400,
          'ValidationException',
          `The value of ${Key} must be a string of at most ${KVS_LIMITS.valueChars} characters.`,
        );
    }
    const items = { ...store.items };
    for (const { Key, Value } of puts) items[Key as string] = Value as string;
    for (const { Key } of deletes) delete items[String(Key)];
    if (sizeOf({ items }).TotalSizeInBytes > KVS_LIMITS.storeBytes)
      throw new AwsError(402, 'ServiceQuotaExceededException', 'The key value store would exceed its 5 MB.');
    const at = Date.now();
    for (const key of new Set([...Object.keys(store.items), ...Object.keys(items)]))
      if (store.items[key] !== items[key]) this.remember(store, key, items[key] ?? null, at);
    store.items = items;
    store.version = randomUUID();
    store.lastModified = new Date(at).toISOString();
    this.onChange();
    return json(sizeOf(store), store.version);
  }

  /** Keeps a key's write, and of the older ones only the last that every edge already reads. */
  private remember(store: KeyValueStore, key: string, value: string | null, at: number): void {
    const writes = [...(store.writes[key] ?? []), { at, value }];
    const settled = writes.filter((w) => w.at <= at - this.propagationMs).length;
    store.writes[key] = writes.slice(Math.max(0, settled - 1));
  }
}

function sizeOf(store: Pick<KeyValueStore, 'items'>): { ItemCount: number; TotalSizeInBytes: number } {
  const entries = Object.entries(store.items);
  return {
    ItemCount: entries.length,
    TotalSizeInBytes: entries.reduce((sum, [k, v]) => sum + Buffer.byteLength(k) + Buffer.byteLength(v), 0),
  };
}

function json(body: unknown, etag?: string): LocalResponse {
  return {
    status: 200,
    headers: { 'Content-Type': 'application/json', ...(etag ? { ETag: etag } : {}) },
    body: JSON.stringify(body),
  };
}
