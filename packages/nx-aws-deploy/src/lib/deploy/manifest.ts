/** What changed in one deploy: the input of invalidation, and a record for rollbacks. */
export interface DeployManifest {
  version: 1;
  project: string;
  bucket: string;
  /** '' or ending in '/'. */
  prefix: string;
  region?: string;
  distributionId?: string;
  deployedAt: string;
  /** Number of the deploy in this bucket/prefix. */
  deploy: number;
  hasIndex: boolean;
  changes: ManifestChange[];
  unchanged: number;
}

export interface ManifestChange {
  key: string;
  /** created: new key; replaced: new bytes; headers: same bytes, new headers; deleted: pruned. */
  action: 'created' | 'replaced' | 'headers' | 'deleted';
  /** The name carries a content hash (a new one needs no invalidation: nobody cached it). */
  immutable: boolean;
}
