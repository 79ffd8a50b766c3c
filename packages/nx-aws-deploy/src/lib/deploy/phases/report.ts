import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { writeJsonWithList } from '../../util/json-file';
import { defaultManifestPath, manifestOf, type DeployManifest } from '../manifest';
import type { DeployPlan } from '../plan';
import { dryRunReport, summaryTable, type DeploySummary } from '../summary';
import type { Planned } from './plan';
import type { DeployRun } from './run';

export interface DeployResult {
  summary: DeploySummary;
  plan: DeployPlan;
  /** What changed (none for a dry run): written to the manifest file, the input of invalidation. */
  manifest?: DeployManifest;
}

/** A dry run ends after planning: the plan a line per object, and the summary of what it would do. */
export function reportDryRun(run: DeployRun, { plan }: Planned): DeployResult {
  run.log(dryRunReport(`deploying ${run.options.sourceDir} to s3://${run.options.bucket}/${run.prefix}`, plan));
  run.hashes.save(run.files);
  const summary = summarize(run, plan);
  run.log(summaryTable(summary));
  return { summary, plan };
}

/**
 * Phase 7: the manifest of every key created, replaced, re-headered or deleted (default
 * dist/deploy-manifests/<project>.json), from which `invalidate` and the pipeline's Lambda invalidate exactly
 * those paths, and the summary: files, bytes, requests, time, the release.
 */
export async function report(
  run: DeployRun,
  { plan, atomic }: Planned,
  release: number | undefined,
): Promise<DeployResult> {
  const { options } = run;
  // An atomic release changed no key a visitor was served (its own are new, so are new cache keys): nothing to
  // invalidate.
  const changed = atomic ? { ...plan, uploads: [], metadataUpdates: [], deletes: [] } : plan;
  const manifest = manifestOf(changed, {
    ...options,
    prefix: run.prefix,
    hasIndex: run.files.some((f) => f.path === 'index.html'),
  });
  const path = options.manifest ?? defaultManifestPath(options.workspaceRoot, options.project);
  await mkdir(dirname(path), { recursive: true });
  const { changes, ...fields } = manifest;
  writeJsonWithList(path, fields, { name: 'changes', items: changes });
  const preview = run.preview && { name: run.preview.name, url: run.preview.url, staged: run.options.stageOnly };
  const summary = { ...summarize(run, plan), manifest: path, release, preview };
  run.log(summaryTable(summary));
  return { summary, plan, manifest };
}

function summarize(run: DeployRun, plan: DeployPlan): DeploySummary {
  const sizes = (files: readonly { size: number }[]) => files.reduce((n, f) => n + f.size, 0);
  return {
    project: run.options.project,
    bucket: run.options.bucket,
    prefix: run.prefix,
    dryRun: Boolean(run.options.dryRun),
    uploaded: { files: plan.uploads.length, bytes: sizes(plan.uploads) },
    metadataUpdated: { files: plan.metadataUpdates.length },
    unchanged: { files: plan.unchanged.length, bytes: sizes(plan.unchanged) },
    deleted: { files: plan.deletes.length },
    kept: { files: plan.kept.length },
    siblings: plan.siblings,
    requests: run.store.requests,
    durationMs: Date.now() - run.started,
  };
}
