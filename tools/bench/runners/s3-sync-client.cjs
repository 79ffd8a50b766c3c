// s3-sync-client as its README shows it: sync a folder to a bucket, deleting what the folder no longer has.
const { S3Client } = require('@aws-sdk/client-s3');
const { S3SyncClient } = require('s3-sync-client');

const [dir, bucket] = process.argv.slice(2);
const client = new S3Client({});
new S3SyncClient({ client }).sync(dir, `s3://${bucket}`, { del: true }).then(
  () => client.destroy(),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
