import { randomBytes } from 'node:crypto';

export interface Distribution {
  id: string;
  arn: string;
  domainName: string;
  callerReference: string;
  lastModified: string;
  etag: string;
  /** The DistributionConfig XML exactly as the client sent it, answered back verbatim. */
  configXml: string;
  originBucket: string;
  originPath: string;
  defaultRootObject: string;
  /** Name of the viewer-request CloudFront Function, when one is associated. */
  viewerRequestFunction?: string;
  /** Name of the viewer-response CloudFront Function, when one is associated. */
  viewerResponseFunction?: string;
  customErrors: { errorCode: number; responsePagePath?: string; responseCode?: number }[];
}

export interface Invalidation {
  id: string;
  distributionId: string;
  callerReference: string;
  paths: string[];
  createTime: string;
  /** Epoch ms when it turns Completed; status is derived from the clock, so no timers run. */
  completesAt: number;
}

export interface CloudFrontFunction {
  name: string;
  arn: string;
  comment: string;
  runtime: string;
  code: string;
  stage: 'DEVELOPMENT' | 'LIVE';
  etag: string;
  created: string;
  lastModified: string;
  /** ARNs of the key value stores the function reads with `cf.kvs()`. */
  keyValueStores: string[];
}

/**
 * A CloudFront KeyValueStore: its keys as the data-plane API answers them (at once), and each key's past values
 * with the time each was written, from which the edges read what had reached them (`propagationMs` later).
 */
export interface KeyValueStore {
  name: string;
  id: string;
  arn: string;
  comment: string;
  created: string;
  lastModified: string;
  /** The control-plane ETag (UpdateKeyValueStore, DeleteKeyValueStore). */
  etag: string;
  /** The data-plane ETag: the store's version, which every write must name and changes. */
  version: string;
  items: Record<string, string>;
  /** Per key, its writes oldest first: a value, or null for a delete. */
  writes: Record<string, { at: number; value: string | null }[]>;
}

export class CloudFrontState {
  readonly distributions = new Map<string, Distribution>();
  readonly invalidations = new Map<string, Invalidation[]>();
  readonly functions = new Map<string, CloudFrontFunction>();
  /** By name. */
  readonly keyValueStores = new Map<string, KeyValueStore>();

  keyValueStoreByArn(arn: string): KeyValueStore | undefined {
    return [...this.keyValueStores.values()].find((s) => s.arn === arn);
  }

  invalidationStatus(invalidation: Invalidation, now = Date.now()): 'InProgress' | 'Completed' {
    return now >= invalidation.completesAt ? 'Completed' : 'InProgress';
  }

  inProgress(distributionId: string): Invalidation[] {
    return (this.invalidations.get(distributionId) ?? []).filter((i) => this.invalidationStatus(i) === 'InProgress');
  }

  toJSON() {
    return {
      distributions: [...this.distributions.values()],
      invalidations: [...this.invalidations.values()].flat(),
      functions: [...this.functions.values()],
      keyValueStores: [...this.keyValueStores.values()],
    };
  }

  restore(saved: ReturnType<CloudFrontState['toJSON']>): void {
    for (const d of saved.distributions) this.distributions.set(d.id, d);
    for (const i of saved.invalidations)
      this.invalidations.set(i.distributionId, [...(this.invalidations.get(i.distributionId) ?? []), i]);
    for (const f of saved.functions) this.functions.set(f.name, { ...f, keyValueStores: f.keyValueStores ?? [] });
    for (const store of saved.keyValueStores ?? []) this.keyValueStores.set(store.name, store);
  }
}

/** CloudFront-style identifiers: a letter then 13 upper-case letters and digits. */
export function cloudFrontId(first: string): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
  return first + [...randomBytes(13)].map((b) => alphabet[b % alphabet.length]).join('');
}
