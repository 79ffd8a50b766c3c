import { reportFailure } from '../../lib/nx/report';
import { readReleases, releasesTable } from '../../lib/releases/list';
import type { ReleasesExecutorOptions } from './schema';

export default async function releasesExecutor(options: ReleasesExecutorOptions): Promise<{ success: boolean }> {
  try {
    const { where, index } = await readReleases(options);
    console.log(options.json ? JSON.stringify(index ?? null) : releasesTable(where, index));
    return { success: true };
  } catch (error) {
    return reportFailure('releases', error);
  }
}
