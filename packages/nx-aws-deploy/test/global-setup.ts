import sharedSetup from '../../../tools/jest/global-setup';
import { prepareBuiltPackage } from './built-package';

/** The shared per-run temp folder, then the package built as published (see built-package.ts). */
export default async function globalSetup(...args: Parameters<typeof sharedSetup>): Promise<void> {
  await sharedSetup(...args);
  prepareBuiltPackage();
}
