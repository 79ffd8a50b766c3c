import type { IncomingHttpHeaders } from 'node:http';

export interface SigningScope {
  accessKeyId?: string;
  region?: string;
  service?: string;
}

/**
 * Reads the SigV4 credential scope (`AKID/date/region/service/aws4_request`) from the Authorization
 * header or a presigned URL. Signatures are not verified: any credentials reach the local AWS.
 */
export function signingScope(headers: IncomingHttpHeaders, url: URL): SigningScope {
  const auth = headers.authorization ?? '';
  const credential = /Credential=([^,\s]+)/.exec(auth)?.[1] ?? url.searchParams.get('X-Amz-Credential') ?? '';
  const [accessKeyId, , region, service] = credential.split('/');
  return { accessKeyId: accessKeyId || undefined, region: region || undefined, service: service || undefined };
}
