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
}

export class CloudFrontState {
  readonly distributions = new Map<string, Distribution>();
  readonly invalidations = new Map<string, Invalidation[]>();
  readonly functions = new Map<string, CloudFrontFunction>();

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
    };
  }

  restore(saved: ReturnType<CloudFrontState['toJSON']>): void {
    for (const d of saved.distributions) this.distributions.set(d.id, d);
    for (const i of saved.invalidations)
      this.invalidations.set(i.distributionId, [...(this.invalidations.get(i.distributionId) ?? []), i]);
    for (const f of saved.functions) this.functions.set(f.name, f);
  }
}

/** CloudFront-style identifiers: a letter then 13 upper-case letters and digits. */
export function cloudFrontId(first: string): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
  return first + [...randomBytes(13)].map((b) => alphabet[b % alphabet.length]).join('');
}
