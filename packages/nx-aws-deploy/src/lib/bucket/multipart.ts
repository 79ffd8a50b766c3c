import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { Transform, type Readable } from 'node:stream';
import { AbortMultipartUploadCommand, type PutObjectCommandInput, type S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { NEVER_STOPPED } from '../aws/clients';

/** Part size of our multipart uploads: the aws CLI's default, so ETags of its uploads match ours too. */
export const PART_SIZE = 8 * 1024 * 1024;

/**
 * A file above one part, uploaded through lib-storage. Its parts are read through an MD5 of the whole file: other
 * bytes than `md5` (the file rewritten during the deploy) fail the read before CompleteMultipartUpload with
 * `changed()`, and lib-storage aborts the upload, so the key keeps its previous object. Each part carries a CRC32
 * that S3 checks (the client sends none unless asked: see s3-client.ts).
 */
export async function uploadInParts(
  s3: S3Client,
  params: Omit<PutObjectCommandInput, 'Body'>,
  file: { path: string; md5: string; changed: () => Error },
  signal: AbortSignal | undefined,
  onBytes?: (n: number) => void,
): Promise<{ ETag?: string; VersionId?: string }> {
  const abortController = new AbortController();
  const onAbort = () => abortController.abort();
  signal?.addEventListener('abort', onAbort, { once: true });
  const upload = new Upload({
    client: s3,
    params: { ...params, Body: readVerified(file.path, file.md5, file.changed), ChecksumAlgorithm: 'CRC32' },
    partSize: PART_SIZE,
    queueSize: 4,
    leavePartsOnError: false,
    abortController,
  });
  let reported = 0;
  upload.on('httpUploadProgress', (p) => {
    onBytes?.((p.loaded ?? 0) - reported);
    reported = p.loaded ?? 0;
  });
  return upload.done().finally(() => signal?.removeEventListener('abort', onAbort));
}

/** The file as a stream that fails at its end when the bytes read do not have the expected MD5. */
function readVerified(file: string, md5: string, mismatch: () => Error): Readable {
  const hash = createHash('md5');
  const verified = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      hash.update(chunk);
      done(null, chunk);
    },
    flush(done) {
      done(hash.digest('hex') === md5 ? null : mismatch());
    },
  });
  const source = createReadStream(file);
  source.on('error', (error) => verified.destroy(error));
  return source.pipe(verified);
}

/**
 * Which multipart uploads a client has open and how many of its requests are out (lib-storage's too), from a
 * middleware on every request: what a stopped deploy aborts, so that no parts are left behind.
 */
export class MultipartLedger {
  /** Multipart uploads created and not yet completed or aborted, by UploadId. */
  private readonly open = new Map<string, string>();
  private inFlight = 0;
  /** Multipart uploads aborted after the stop signal, by lib-storage or by abortOpen. */
  private aborted = 0;

  constructor(
    private readonly s3: S3Client,
    private readonly bucket: string,
    signal: AbortSignal,
  ) {
    s3.middlewareStack.add(
      (next, context) => async (args) => {
        this.inFlight++;
        try {
          const result = await next(args);
          const input = args.input as { Key?: string; UploadId?: string };
          const command = context.commandName;
          if (command === 'CreateMultipartUploadCommand')
            this.open.set((result.output as { UploadId: string }).UploadId, input.Key!);
          if (command === 'CompleteMultipartUploadCommand' || command === 'AbortMultipartUploadCommand')
            this.open.delete(input.UploadId!);
          if (command === 'AbortMultipartUploadCommand' && signal.aborted) this.aborted++;
          return result;
        } finally {
          this.inFlight--;
        }
      },
      { step: 'initialize', name: 'multipartLedger' },
    );
  }

  /**
   * After an interruption: waits (bounded) for the requests still out to settle, then aborts every multipart
   * upload that is still open. Returns how many were aborted since the stop signal.
   */
  async abortOpen(settleMs = 15_000): Promise<number> {
    const until = Date.now() + settleMs;
    while (this.inFlight > 0 && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 50));
    for (const [UploadId, Key] of [...this.open]) {
      await this.s3
        .send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key, UploadId }), { abortSignal: NEVER_STOPPED })
        .catch(() => undefined);
    }
    return this.aborted;
  }
}
