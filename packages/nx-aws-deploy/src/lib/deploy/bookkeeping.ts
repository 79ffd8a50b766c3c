/**
 * A deploy's own records, below its prefix in the bucket: never a site file, never pruned, and kept from visitors
 * by the generated bucket policy (the `DeployBookkeepingIsPrivate` statement).
 */
export const STATE_DIR = '.nx-aws-deploy/';
/** What the last deploy recorded per key (see DeployState in plan.ts): spares a no-op deploy a HEAD per object. */
export const STATE_FILE = `${STATE_DIR}state.json`;
/** The commit of the last successful deploy from CodeBuild: the base of `nx affected` without a pipeline. */
export const MARKER_FILE = `${STATE_DIR}last-deploy.json`;
/** One deploy at a time per bucket + prefix (see lease.ts). */
export const LEASE_FILE = `${STATE_DIR}lease.json`;

/** The deploy marker's contents: written by a deploy from CodeBuild, read by `nx-aws-deploy set-shas`. */
export interface DeployMarker {
  commit: string;
  project: string;
  deployedAt: string;
}
