import { createECDH, createHash, createHmac, createPublicKey, timingSafeEqual, verify } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { SignatureV4a } from '@aws-sdk/signature-v4a';
import { SignatureV4 } from '@smithy/signature-v4';
import type { SourceData } from '@smithy/types';
import { AwsError } from '../errors';
import type { Service } from '../operations';
import { SIGV4A } from '../sigv4';
import type { Session } from './roles';

const bytes = (data: SourceData) =>
  typeof data === 'string'
    ? data
    : data instanceof ArrayBuffer
      ? new Uint8Array(data)
      : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);

/** SHA-256 (and its HMAC) as the SDK's signer takes it. */
export class Sha256 {
  private readonly hash;
  constructor(secret?: SourceData) {
    this.hash = secret ? createHmac('sha256', bytes(secret)) : createHash('sha256');
  }
  update(data: SourceData): void {
    this.hash.update(bytes(data));
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.hash.digest());
  }
}

/** How far a signature's time may be from the server's, as AWS allows. */
const SKEW_MS = 15 * 60 * 1000;

/** Each service's answer to a signature it does not accept: status and code, for a wrong signature and a stale one. */
const REFUSALS: Record<Service, { status: number; mismatch: string; stale: string; token: string }> = {
  s3: { status: 403, mismatch: 'SignatureDoesNotMatch', stale: 'RequestTimeTooSkewed', token: 'InvalidToken' },
  cloudfront: {
    status: 403,
    mismatch: 'SignatureDoesNotMatch',
    stale: 'SignatureDoesNotMatch',
    token: 'InvalidClientTokenId',
  },
  sts: {
    status: 403,
    mismatch: 'SignatureDoesNotMatch',
    stale: 'SignatureDoesNotMatch',
    token: 'InvalidClientTokenId',
  },
  codepipeline: {
    status: 400,
    mismatch: 'InvalidSignatureException',
    stale: 'InvalidSignatureException',
    token: 'UnrecognizedClientException',
  },
  'cloudfront-keyvaluestore': {
    status: 403,
    mismatch: 'InvalidSignatureException',
    stale: 'InvalidSignatureException',
    token: 'UnrecognizedClientException',
  },
};

/**
 * Verifies a session's signature (the Authorization header) as AWS does: the request is signed again with the
 * session's secret over the headers the client signed, the path, the query and the payload hash (the signers are
 * the AWS SDK's own, @smithy/signature-v4 and, for SigV4A, @aws-sdk/signature-v4a); a SigV4 signature must then be
 * equal, a SigV4A one (ECDSA, never the same twice) must verify against the public key of the session's derived
 * key pair. The signature's time must be within 15 minutes of now, and the session token the one the session was
 * given. Refuses with the service's error otherwise.
 */
export async function verifySignature(
  req: IncomingMessage,
  url: URL,
  body: Buffer,
  service: Service,
  session: Session,
  now = Date.now(),
): Promise<void> {
  const refusal = REFUSALS[service];
  const auth = String(req.headers.authorization ?? '');
  const match =
    /^(AWS4-HMAC-SHA256|AWS4-ECDSA-P256-SHA256) Credential=([^,]+),\s*SignedHeaders=([^,]+),\s*Signature=([0-9a-f]+)$/.exec(
      auth,
    );
  if (!match)
    throw new AwsError(
      refusal.status,
      refusal.mismatch,
      'Only AWS4-HMAC-SHA256 and AWS4-ECDSA-P256-SHA256 header signatures are accepted for a session.',
    );
  const [, algorithm, credential, signedHeaderList, signature] = match;
  const v4a = algorithm === SIGV4A;
  const scope = credential.split('/');
  const [region, signingService] = v4a ? [headerValue(req, 'x-amz-region-set'), scope[2]] : [scope[2], scope[3]];
  const amzDate = String(req.headers['x-amz-date'] ?? '');
  const signedAt = Date.parse(amzDate.replace(/^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/, '$1-$2-$3T$4:$5:$6Z'));
  if (Number.isNaN(signedAt) || Math.abs(now - signedAt) > SKEW_MS) {
    throw new AwsError(
      refusal.status,
      refusal.stale,
      service === 's3'
        ? 'The difference between the request time and the current time is too large.'
        : `Signature expired: ${amzDate} is now earlier than ${new Date(now - SKEW_MS).toISOString()} (${new Date(now).toISOString()} - 15 min.)`,
      // S3 says what it saw, from which the SDK corrects its clock.
      service === 's3'
        ? { RequestTime: amzDate, ServerTime: new Date(now).toISOString(), MaxAllowedSkewMilliseconds: SKEW_MS }
        : {},
    );
  }
  if (req.headers['x-amz-security-token'] !== session.sessionToken)
    throw new AwsError(refusal.status, refusal.token, 'The security token included in the request is invalid.');
  const signedHeaders = signedHeaderList.split(';');
  const query: Record<string, string | string[]> = {};
  for (const key of new Set(url.searchParams.keys())) {
    const values = url.searchParams.getAll(key);
    query[key] = values.length === 1 ? values[0] : values;
  }
  const request = {
    method: req.method ?? 'GET',
    protocol: 'http:',
    hostname: String(req.headers.host ?? '').split(':')[0],
    path: (req.url ?? '/').split('?')[0],
    query,
    headers: Object.fromEntries(signedHeaders.map((name) => [name, headerValue(req, name)])),
    body,
  };
  const options = { signingDate: new Date(signedAt), signableHeaders: new Set(signedHeaders) };
  const signer = {
    service: signingService,
    region,
    credentials: {
      accessKeyId: session.accessKeyId,
      secretAccessKey: session.secretAccessKey,
      sessionToken: session.sessionToken,
    },
    sha256: Sha256,
    // S3 signs the path as sent; the other services sign it encoded once more.
    uriEscapePath: service !== 's3',
    // Only the headers the client signed: x-amz-content-sha256 is signed where the client sent it (the JS SDK
    // does), not added (botocore's signers leave it out but for S3).
    applyChecksum: false,
  };
  let valid: boolean;
  if (v4a) {
    // The signer derives the session's private key and the string to sign; what it would sign is compared by ECDSA.
    const v4aSigner = new SignatureV4a(signer);
    let signed: { key: Uint8Array; stringToSign: string } | undefined;
    (v4aSigner as unknown as { getSignature: unknown }).getSignature = async (
      key: Uint8Array,
      stringToSign: string,
    ) => {
      signed = { key, stringToSign };
      return '';
    };
    await v4aSigner.sign(request, options);
    valid = verify(
      'sha256',
      Buffer.from(signed!.stringToSign),
      publicKeyOf(signed!.key),
      Buffer.from(signature, 'hex'),
    );
  } else {
    const resigned = await new SignatureV4(signer).sign(request, options);
    const expected = /Signature=([0-9a-f]{64})/.exec(String(resigned.headers.authorization))?.[1] ?? '';
    valid = expected.length === signature.length && timingSafeEqual(Buffer.from(expected), Buffer.from(signature));
  }
  if (!valid) {
    throw new AwsError(
      refusal.status,
      refusal.mismatch,
      'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.',
    );
  }
}

/** The P-256 public key of a SigV4A private key (the session's, derived from its secret). */
function publicKeyOf(privateKey: Uint8Array) {
  const ecdh = createECDH('prime256v1');
  ecdh.setPrivateKey(Buffer.from(privateKey));
  const point = ecdh.getPublicKey();
  return createPublicKey({
    key: {
      kty: 'EC',
      crv: 'P-256',
      x: point.subarray(1, 33).toString('base64url'),
      y: point.subarray(33).toString('base64url'),
    },
    format: 'jwk',
  });
}

/** A header as the client signed it: its values joined with commas. */
function headerValue(req: IncomingMessage, name: string): string {
  const value = req.headers[name];
  return Array.isArray(value) ? value.join(',') : (value ?? '');
}
