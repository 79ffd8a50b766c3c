import { get as httpGet } from 'node:http';
import { get as httpsGet } from 'node:https';
import { loopbackForLocalhost } from '../aws/clients';
import { UserError } from '../util/errors';

/**
 * Waits until `url` answers with the ETag `etag`: a KeyValueStore write reaches CloudFront's edges within seconds,
 * not at once, so a release is served from the moment the edge that answers has it. Answers the milliseconds it
 * took; refuses, saying so, after `timeoutMs` (the release is live in the store all the same).
 */
export async function waitUntilServed(
  url: string,
  etag: string,
  { timeoutMs, pollMs = 250 }: { timeoutMs: number; pollMs?: number },
): Promise<number> {
  const started = Date.now();
  for (;;) {
    const seen = await etagAt(url).catch((error: Error) => `an error (${error.message})`);
    if (seen === etag) return Date.now() - started;
    if (Date.now() - started > timeoutMs)
      throw new UserError(
        `${url} did not serve the new release within ${Math.round(timeoutMs / 1000)} s (last: ${seen}). It is live in the KeyValueStore: the edges serve it once the write reaches them.`,
      );
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}

/** The ETag `url` answers with, unquoted. */
function etagAt(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const get = url.startsWith('https:') ? httpsGet : httpGet;
    const request = get(url, { lookup: loopbackForLocalhost, headers: { 'cache-control': 'no-cache' } }, (response) => {
      response.resume();
      resolve(String(response.headers.etag ?? `HTTP ${response.statusCode} without an ETag`).replace(/"/g, ''));
    });
    request.setTimeout(10_000, () => request.destroy(new Error('no answer in 10 s')));
    request.on('error', reject);
  });
}
