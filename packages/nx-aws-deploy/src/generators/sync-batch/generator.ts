import type { Tree } from '@nx/devkit';
import { isDeepStrictEqual } from 'node:util';
import { parseDocument } from 'yaml';
import { batchBuildList, deployableProjects } from '../../lib/batch/build-list';

export const BUILDSPEC = 'buildspec.yml';
/** How nx.json names this generator under `sync.globalGenerators` (so `nx sync` / `nx sync:check` run it). */
export const SYNC_GENERATOR = 'nx-aws-deploy:sync-batch';

/**
 * Makes the `batch: build-list` of buildspec.yml one build per deployable project (see lib/batch). `create`: add
 * the batch section when there is none (the pipeline generator's --batch); otherwise a buildspec without one is
 * left alone. Answers the projects added and removed, or undefined when nothing changed.
 */
export function updateBatchList(tree: Tree, create: boolean): { added: string[]; removed: string[] } | undefined {
  const text = tree.read(BUILDSPEC, 'utf8');
  if (text === null) return undefined;
  const doc = parseDocument(text);
  if (!create && !doc.hasIn(['batch', 'build-list'])) return undefined;
  const projects = deployableProjects(tree);
  const wanted = batchBuildList(projects);
  const current = (doc.getIn(['batch', 'build-list']) as { toJSON(): unknown } | undefined)?.toJSON() as
    ReturnType<typeof batchBuildList> | undefined;
  if (isDeepStrictEqual(current, wanted) && doc.getIn(['batch', 'fast-fail']) === false) return undefined;
  // One app's failing build must not cancel the others' deploys.
  doc.setIn(['batch', 'fast-fail'], false);
  doc.setIn(['batch', 'build-list'], wanted);
  if (!text.includes('# Kept in step with the project graph')) {
    const batch = doc.get('batch', true) as { commentBefore?: string | null };
    batch.commentBefore =
      ' Kept in step with the project graph by `nx sync` (nx-aws-deploy:sync-batch): one build per project with a\n deploy-s3 target; `nx sync:check` fails a build whose list is stale.';
  }
  tree.write(BUILDSPEC, doc.toString({ lineWidth: 0 }));
  const before = (current ?? []).map((b) => b.env?.variables?.NX_AWS_DEPLOY_PROJECT);
  return {
    added: projects.filter((p) => !before.includes(p)),
    removed: before.filter((p) => !projects.includes(p)),
  };
}

/** `nx sync`'s generator: keeps the batch build list of buildspec.yml in step with the deployable projects. */
export default async function syncBatchGenerator(tree: Tree) {
  const changed = updateBatchList(tree, false);
  if (!changed) return {};
  const what = [
    changed.added.length ? `no build for ${changed.added.join(', ')}` : '',
    changed.removed.length ? `a build for ${changed.removed.join(', ')}, which is no longer deployed` : '',
  ].filter(Boolean);
  return {
    outOfSyncMessage: `${BUILDSPEC}'s batch build list is out of step with the projects that deploy (${what.join('; ') || 'its settings'}). Run \`nx sync\`.`,
  };
}
