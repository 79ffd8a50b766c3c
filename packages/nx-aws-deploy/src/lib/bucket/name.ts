import { UserError } from '../util/errors';

/** S3's rules for general purpose bucket names, checked before anything is created or deployed. */
export function isValidBucketName(name: string): boolean {
  return (
    /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(name) &&
    !name.includes('..') &&
    !/^\d+\.\d+\.\d+\.\d+$/.test(name) &&
    !name.startsWith('xn--') &&
    !name.endsWith('-s3alias')
  );
}

/** Refuses, with the one line every caller gives, a name S3 would refuse; `option` says where it was set. */
export function checkBucketName(name: string, option: string): void {
  if (!isValidBucketName(name)) {
    throw new UserError(
      `"${name}" is not a bucket name S3 accepts (3-63 lower-case letters, digits, dots and hyphens, starting and ending with a letter or digit): fix ${option}.`,
    );
  }
}

/** A prefix as keys are built from it: '' or ending in one '/', no leading '/'. */
export function normalizePrefix(prefix: string | undefined): string {
  const trimmed = (prefix ?? '').replace(/^\/+/, '').replace(/\/+$/, '');
  return trimmed ? `${trimmed}/` : '';
}
