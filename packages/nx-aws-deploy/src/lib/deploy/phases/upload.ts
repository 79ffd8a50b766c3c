import type { Written } from '../../bucket/store';
import { onDisk, type LocalFile } from '../local-files';
import type { PlannedUpload } from '../plan';
import type { Progress } from '../progress';
import type { DeployRun } from './run';

/**
 * One file up. With the MD5 the plan compared, if it hashed the file, S3 stores exactly those bytes; a file read
 * for the first time as it uploads leaves its MD5 for the next deploy from this workspace.
 */
export async function uploadFile(
  run: DeployRun,
  file: LocalFile,
  upload: PlannedUpload,
  progress: Progress,
): Promise<Written> {
  const md5 = file.etags[0]?.slice(1, -1);
  const readAt = Date.now();
  const path = onDisk(run.options.sourceDir, file);
  const uploaded = await run.store.upload(upload.key, path, upload.size, md5, upload.headers, (n) =>
    progress.advance(0, n),
  );
  if (!md5) {
    file.etags = [`"${uploaded.md5}"`];
    run.hashes.hashed(file, readAt);
  }
  return uploaded;
}
