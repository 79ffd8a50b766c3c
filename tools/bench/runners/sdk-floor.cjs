// The floor: the fewest requests and the least work a content-hash sync can do with the SDK. List the bucket, hash
// only the files the bucket already has (by MD5 against single-part ETags), PUT what differs 32 at a time (as many
// as the deploy), delete what the folder no longer has. No headers, no ordering, no guards, no bookkeeping.
const { createHash } = require('node:crypto');
const { readdirSync, readFileSync } = require('node:fs');
const { join } = require('node:path');
const { DeleteObjectsCommand, ListObjectsV2Command, PutObjectCommand, S3Client } = require('@aws-sdk/client-s3');

async function main([dir, bucket]) {
  const client = new S3Client({});
  const remote = new Map();
  let token;
  do {
    const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token }));
    for (const o of page.Contents ?? []) remote.set(o.Key, o.ETag);
    token = page.NextContinuationToken;
  } while (token);
  const files = readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath ?? e.path, e.name).slice(dir.length + 1));
  const changed = files.filter((key) => {
    const etag = remote.get(key);
    remote.delete(key);
    return (
      !etag ||
      etag !==
        `"${createHash('md5')
          .update(readFileSync(join(dir, key)))
          .digest('hex')}"`
    );
  });
  let next = 0;
  const worker = async () => {
    while (next < changed.length) {
      const key = changed[next++];
      await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: readFileSync(join(dir, key)) }));
    }
  };
  await Promise.all(Array.from({ length: 32 }, worker));
  const gone = [...remote.keys()];
  for (let i = 0; i < gone.length; i += 1000) {
    const Objects = gone.slice(i, i + 1000).map((Key) => ({ Key }));
    await client.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects, Quiet: true } }));
  }
  client.destroy();
}

main(process.argv.slice(2)).catch((error) => {
  console.error(error);
  process.exit(1);
});
