import type { RequestCounts } from '../bucket/store';
import { formatBytes, formatDuration, table } from '../util/format';
import type { DeployPlan } from './plan';

export interface DeploySummary {
  project: string;
  bucket: string;
  prefix: string;
  dryRun: boolean;
  uploaded: { files: number; bytes: number };
  metadataUpdated: { files: number };
  unchanged: { files: number; bytes: number };
  deleted: { files: number };
  kept: { files: number };
  /** Other deploys below this prefix (their own bookkeeping), never pruned by this one. */
  siblings: { prefix: string; objects: number }[];
  requests: RequestCounts;
  durationMs: number;
  manifest?: string;
  /** The release this deploy recorded; none for a dry run or a deploy that changed nothing. */
  release?: number;
  /** A deploy of a pull request's preview: its name, with the preview domain its URL, whether it is only staged. */
  preview?: { name: string; url?: string; staged?: boolean };
}

/** What a dry run would do, a line per object: uploads (why, size, type, caching), header updates, deletes, keeps. */
export function dryRunReport(what: string, plan: DeployPlan): string {
  return [
    `Dry run: ${what} would:`,
    ...plan.uploads.map(
      (u) =>
        `  upload   ${u.key} (${u.reason}, ${formatBytes(u.size)}, ${u.headers['Content-Type']}, ${u.headers['Cache-Control']})`,
    ),
    ...plan.metadataUpdates.map(
      (u) => `  headers  ${u.key} (${u.headers['Content-Type']}, ${u.headers['Cache-Control']})`,
    ),
    ...plan.deletes.map((key) => `  delete   ${key}`),
    ...plan.kept.map((key) => `  keep     ${key} (a kept release or a recent deploy has it)`),
  ].join('\n');
}

/** The summary printed at the end of every deploy: counts and bytes, siblings left alone, requests, time, manifest. */
export function summaryTable(s: DeploySummary): string {
  const rows = [
    ['', 'files', 'bytes'],
    [s.dryRun ? 'would upload' : 'uploaded', String(s.uploaded.files), formatBytes(s.uploaded.bytes)],
    [s.dryRun ? 'would update headers' : 'headers updated', String(s.metadataUpdated.files), ''],
    ['unchanged', String(s.unchanged.files), formatBytes(s.unchanged.bytes)],
    [s.dryRun ? 'would delete' : 'deleted', String(s.deleted.files), ''],
  ];
  if (s.kept.files) rows.push(['kept for rollback', String(s.kept.files), '']);
  const siblings = s.siblings.length
    ? `\nleft alone: ${s.siblings.reduce((n, x) => n + x.objects, 0)} objects of other deploys below ${s.siblings.map((x) => x.prefix).join(', ')}`
    : '';
  const requests =
    Object.entries(s.requests)
      .map(([op, n]) => `${op} ${n}`)
      .join(', ') || 'none';
  return `${table(rows)}${siblings}\nrequests: ${requests}\ntime: ${formatDuration(s.durationMs)}${s.release ? `\nrelease: ${s.release} is ${s.preview?.staged ? 'staged' : 'live'}${s.preview ? ` as preview ${s.preview.name}` : ''}` : ''}${s.preview?.url ? `\npreview: ${s.preview.url}` : ''}${s.manifest ? `\nmanifest: ${s.manifest}` : ''}`;
}
