import type { IncomingHttpHeaders } from 'node:http';

/** The algorithm of SigV4A (asymmetric, multi-region) signatures, which the KeyValueStore API requires. */
export const SIGV4A = 'AWS4-ECDSA-P256-SHA256';

export interface SigningScope {
  accessKeyId?: string;
  region?: string;
  service?: string;
}

/**
 * Reads the SigV4 credential scope (`AKID/date/region/service/aws4_request`) from the Authorization
 * header or a presigned URL (src/iam/signature.ts verifies the signatures of sessions).
 */
export function signingScope(headers: IncomingHttpHeaders, url: URL): SigningScope {
  const auth = headers.authorization ?? '';
  const credential = /Credential=([^,\s]+)/.exec(auth)?.[1] ?? url.searchParams.get('X-Amz-Credential') ?? '';
  if (auth.startsWith(SIGV4A)) {
    // SigV4A scopes name no region (`AKID/date/service/aws4_request`): the signed region set does.
    const [accessKeyId, , service] = credential.split('/');
    const region = String(headers['x-amz-region-set'] ?? '');
    return { accessKeyId: accessKeyId || undefined, region: region || undefined, service: service || undefined };
  }
  const [accessKeyId, , region, service] = credential.split('/');
  return { accessKeyId: accessKeyId || undefined, region: region || undefined, service: service || undefined };
}
