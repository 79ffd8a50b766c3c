import { join } from 'node:path';
import { UserError } from '../util/errors';
import type { DeployPlan } from './plan';

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

const ACTIONS: readonly string[] = ['created', 'replaced', 'headers', 'deleted'];

/**
 * The one reader of deploy manifests (the invalidate executor and the Lambda): checks version and shape, so a
 * hand-edited, truncated or foreign file is one clear line naming `source`, never a TypeError further on.
 */
export function parseManifest(text: string, source: string): DeployManifest {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new UserError(`The deploy manifest ${source} is not valid JSON: run the deploy again to rewrite it.`);
  }
  const m = value as Partial<DeployManifest> | null;
  const problem =
    typeof m !== 'object' || m === null || Array.isArray(m)
      ? 'is not a JSON object'
      : m.version !== 1
        ? `has version ${JSON.stringify(m.version)}, and this version of nx-aws-deploy reads version 1`
        : !Array.isArray(m.changes)
          ? 'has no "changes" list'
          : typeof m.prefix !== 'string'
            ? 'has no "prefix"'
            : m.changes.findIndex(
                  (c) =>
                    typeof c?.key !== 'string' || !ACTIONS.includes(c?.action) || typeof c?.immutable !== 'boolean',
                ) >= 0
              ? `has a malformed change (each needs "key", "action" (${ACTIONS.join(', ')}) and "immutable")`
              : undefined;
  if (problem) {
    throw new UserError(
      `The deploy manifest ${source} ${problem}: run the deploy again to rewrite it, or give "paths".`,
    );
  }
  return m as DeployManifest;
}

/** Where a deploy writes its manifest unless told ("manifest"), and where the invalidate executor looks. */
export function defaultManifestPath(workspaceRoot: string, project: string): string {
  return join(workspaceRoot, 'dist', 'deploy-manifests', `${project}.json`);
}

/** A deploy's manifest from its plan: every key created, replaced, re-headered or deleted. */
export function manifestOf(
  plan: DeployPlan,
  deploy: Pick<DeployManifest, 'project' | 'bucket' | 'prefix' | 'region' | 'distributionId' | 'hasIndex'>,
): DeployManifest {
  const changes: ManifestChange[] = [
    ...plan.uploads.map((u) => ({
      key: u.key,
      action: u.reason === 'new' ? ('created' as const) : ('replaced' as const),
      immutable: u.immutable,
    })),
    ...plan.metadataUpdates.map((u) => ({ key: u.key, action: 'headers' as const, immutable: u.immutable })),
    ...plan.deletes.map((key) => ({ key, action: 'deleted' as const, immutable: false })),
  ];
  return {
    version: 1,
    project: deploy.project,
    bucket: deploy.bucket,
    prefix: deploy.prefix,
    region: deploy.region,
    distributionId: deploy.distributionId,
    deployedAt: new Date().toISOString(),
    deploy: plan.nextState.deploy,
    hasIndex: deploy.hasIndex,
    changes,
    unchanged: plan.unchanged.length,
  };
}
