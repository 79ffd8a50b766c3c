import { AwsError } from '../errors';

/**
 * The part of S3 bucket-policy evaluation the local edge needs: may this CloudFront distribution (through
 * Origin Access Control) GetObject this key? An explicit Deny wins, then an Allow; a bucket with a policy and
 * no matching Allow refuses, as a private bucket does. Conditions on AWS:SourceArn (StringEquals, StringLike,
 * ArnEquals, ArnLike) and aws:SecureTransport (Bool; CloudFront reaches S3 over TLS) are evaluated; a
 * statement with any other condition does not apply.
 */
export function cloudFrontMayRead(
  policy: string | undefined,
  bucket: string,
  key: string,
  distributionArn: string,
): boolean {
  if (policy === undefined) return true; // no policy: the local edge reads any bucket, as the tests' plain buckets expect
  const statements = parsePolicy(policy).Statement;
  const request = { resource: `arn:aws:s3:::${bucket}/${key}`, sourceArn: distributionArn };
  const applies = (s: Statement) =>
    principalMatches(s.Principal) &&
    list(s.Action).some((a) => wildcard(a.toLowerCase()).test('s3:getobject')) &&
    list(s.Resource).some((r) => wildcard(r).test(request.resource)) &&
    conditionsHold(s.Condition, request.sourceArn);
  if (statements.some((s) => s.Effect === 'Deny' && applies(s))) return false;
  return statements.some((s) => s.Effect === 'Allow' && applies(s));
}

interface Statement {
  Effect: 'Allow' | 'Deny';
  Principal?: unknown;
  Action?: string | string[];
  Resource?: string | string[];
  Condition?: Record<string, Record<string, string | string[]>>;
}

/** Checks what PutBucketPolicy would refuse outright (S3 answers MalformedPolicy). */
export function parsePolicy(text: string): { Statement: Statement[] } {
  let parsed: { Statement?: Statement | Statement[] };
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new AwsError(400, 'MalformedPolicy', "Policies must be valid JSON and the first byte must be '{'");
  }
  const statements = list(parsed?.Statement);
  if (!statements.length || statements.some((s) => (s.Effect !== 'Allow' && s.Effect !== 'Deny') || !s.Resource)) {
    throw new AwsError(
      400,
      'MalformedPolicy',
      'Policy has invalid statements: each needs Effect (Allow or Deny) and Resource.',
    );
  }
  return { Statement: statements };
}

function list<T>(value: T | T[] | undefined): T[] {
  return value === undefined ? [] : Array.isArray(value) ? value : [value];
}

/** IAM wildcards: `*` any run of characters, `?` one. */
function wildcard(pattern: string): RegExp {
  return new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`,
    's',
  );
}

function principalMatches(principal: unknown): boolean {
  if (principal === '*') return true;
  const p = principal as { Service?: string | string[]; AWS?: string | string[] } | undefined;
  return list(p?.Service).includes('cloudfront.amazonaws.com') || list(p?.AWS).includes('*');
}

function conditionsHold(conditions: Statement['Condition'], sourceArn: string): boolean {
  for (const [operator, entries] of Object.entries(conditions ?? {})) {
    for (const [name, expected] of Object.entries(entries)) {
      const values = list(expected);
      const key = name.toLowerCase();
      if (key === 'aws:sourcearn' && /^(StringEquals|ArnEquals)$/.test(operator)) {
        if (!values.includes(sourceArn)) return false;
      } else if (key === 'aws:sourcearn' && /^(StringLike|ArnLike)$/.test(operator)) {
        if (!values.some((v) => wildcard(v).test(sourceArn))) return false;
      } else if (key === 'aws:securetransport' && operator === 'Bool') {
        if (!values.map(String).includes('true')) return false;
      } else {
        return false;
      }
    }
  }
  return true;
}
