/**
 * `nx run pipeline-invalidate-lambda:package`: bundles the handler with esbuild into a reproducible zip
 * (dist/packages/pipeline-invalidate-lambda/function.zip).
 */
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildSync } from 'esbuild';
import { zipSync } from 'fflate';

const packageRoot = join(__dirname, '..');
export const DEFAULT_OUT_DIR = join(packageRoot, '..', '..', 'dist', 'packages', 'pipeline-invalidate-lambda');
/** A fixed timestamp: the same sources give the same bytes. */
const EPOCH = new Date('2020-01-01T00:00:00Z');

/**
 * The AWS SDK v3 is left out: the nodejs22.x runtime provides its clients. The SigV4A signer that the KeyValueStore
 * client needs (to publish previews) is bundled: the runtime's SDK is not promised to carry it.
 */
const BUNDLED_SDK = new Set(['signature-v4a']);
function runtimeSdk(): string[] {
  const sdk = join(require.resolve('@aws-sdk/client-s3'), '..', '..', '..');
  return readdirSync(sdk)
    .filter((name) => !BUNDLED_SDK.has(name))
    .flatMap((name) => [`@aws-sdk/${name}`, `@aws-sdk/${name}/*`]);
}

export function packageLambda(outDir = DEFAULT_OUT_DIR): { zipPath: string; bytes: number } {
  const result = buildSync({
    entryPoints: [join(packageRoot, 'src', 'handler.ts')],
    bundle: true,
    platform: 'node',
    target: 'node22',
    format: 'cjs',
    minify: true,
    legalComments: 'none',
    external: runtimeSdk(),
    write: false,
    outfile: 'index.js',
    logLevel: 'error',
  });
  const zip = zipSync({ 'index.js': [result.outputFiles[0].contents, { mtime: EPOCH }] }, { level: 9, mtime: EPOCH });
  mkdirSync(outDir, { recursive: true });
  const zipPath = join(outDir, 'function.zip');
  writeFileSync(zipPath, zip);
  return { zipPath, bytes: zip.length };
}

if (require.main === module) {
  const { zipPath, bytes } = packageLambda(process.argv[2]);
  console.log(`Packaged ${zipPath} (${(bytes / 1024).toFixed(1)} KB): handler index.handler, runtime nodejs22.x.`);
}
