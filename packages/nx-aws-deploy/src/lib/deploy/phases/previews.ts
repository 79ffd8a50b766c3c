import type { BucketStore } from '../../bucket/store';
import { readPreviews, removePreview } from '../../releases/preview-store';
import {
  DEFAULT_MAX_PREVIEWS,
  DEFAULT_PREVIEW_TTL_DAYS,
  stalePreviews,
  type PreviewTarget,
} from '../../releases/previews';
import { UserError, errorMessage } from '../../util/errors';
import type { DeployOptions } from '../options';
import type { DeployRun } from './run';

/**
 * Before the lease of a new preview: refused when the site has `maxPreviews` already (each takes keys of the
 * store, which the site's releases need too), naming them and how to remove one.
 */
export async function checkPreviewLimit(
  bucket: BucketStore,
  preview: PreviewTarget,
  options: Pick<DeployOptions, 'maxPreviews' | 'bucket'>,
): Promise<void> {
  const max = options.maxPreviews ?? DEFAULT_MAX_PREVIEWS;
  const previews = await readPreviews(bucket, preview.site.prefix);
  if (previews.some((p) => p.name === preview.name) || previews.length < max) return;
  throw new UserError(
    `s3://${options.bucket}/${preview.site.prefix} has ${previews.length} previews (${previews.map((p) => p.name).join(', ')}), the most "maxPreviews" allows (${max}): remove one (nx-aws-deploy preview remove pr-<n>), lower "previewTtlDays" or raise "maxPreviews"; ${preview.name} was not deployed.`,
  );
}

/**
 * After a deploy of the site or of one of its previews: previews no build deployed for `previewTtlDays` are
 * removed (see removePreview), each only when no deploy of it holds its lease. A removal that fails is said and
 * left for the next deploy: the deploy itself succeeded. `listed`: the site's listing, which a deploy of the site
 * made already (a site without previews then costs no request).
 */
export async function removeIdlePreviews(
  run: DeployRun,
  site: PreviewTarget['site'],
  listed: Iterable<{ key: string; size: number }> | undefined,
) {
  const ttlDays = run.options.previewTtlDays ?? DEFAULT_PREVIEW_TTL_DAYS;
  if (ttlDays === 0) return;
  const idle = stalePreviews(await readPreviews(run.store, site.prefix, listed), ttlDays, Date.now());
  for (const { name, at } of idle.filter((p) => p.name !== run.preview?.name)) {
    try {
      const removed = await removePreview({
        ...{ store: run.store, prefix: site.prefix, name, site: site.store },
        ...{ leaseOwner: run.options.leaseOwner, lockTimeout: 0, log: run.log, signal: run.signal },
      });
      run.log(
        `Removed preview ${name}, deployed last at ${at}, idle for more than ${ttlDays} days ("previewTtlDays"): ${removed.keys} key(s) of the store, ${removed.objects} object(s).`,
      );
    } catch (error) {
      run.log(
        `Warning: preview ${name} is idle for more than ${ttlDays} days but was not removed: ${errorMessage(error)}`,
      );
    }
  }
}
