import { createHash } from 'node:crypto';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { createS3Client } from '../src/lib/aws/s3-client';

/** The headers of each request the real S3 client sends, seen by a bare HTTP server that answers every PUT. */
async function sentHeaders(send: (client: ReturnType<typeof createS3Client>) => Promise<unknown>) {
  const seen: IncomingHttpHeaders[] = [];
  const server = createServer((req, res) => {
    seen.push(req.headers);
    req.resume().on('end', () => res.writeHead(200, { ETag: '"etag"' }).end());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const saved = { ...process.env };
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_S3: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
  });
  const client = createS3Client({ region: 'us-east-1' });
  try {
    await send(client);
  } finally {
    client.destroy();
    process.env = saved;
    await new Promise((resolve) => server.close(resolve));
  }
  return seen;
}

describe('createS3Client', () => {
  const body = Buffer.from('<!doctype html><title>page</title>');
  const md5 = createHash('md5').update(body).digest('base64');

  it('signs an upload that carries its Content-MD5 without hashing the bytes again; others as the SDK does', async () => {
    const [withMd5, without] = await sentHeaders(async (client) => {
      await client.send(new PutObjectCommand({ Bucket: 'site', Key: 'index.html', Body: body, ContentMD5: md5 }));
      await client.send(new PutObjectCommand({ Bucket: 'site', Key: 'state.json', Body: body }));
    });
    expect(withMd5['content-md5']).toBe(md5);
    expect(withMd5['x-amz-content-sha256']).toBe('UNSIGNED-PAYLOAD');
    // Content-MD5 is among the signed headers, so the signature still covers the bytes' digest.
    expect(withMd5.authorization).toMatch(/SignedHeaders=[^,]*content-md5/);
    expect(without['x-amz-content-sha256']).toBe(createHash('sha256').update(body).digest('hex'));
  });
});
