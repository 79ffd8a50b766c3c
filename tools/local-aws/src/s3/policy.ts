import { AwsError } from '../errors';

/**
 * Checks what PutBucketPolicy would refuse outright (S3 answers MalformedPolicy). Evaluating a policy is IAM's
 * evaluator's (see src/iam/authorize.ts), for API requests and the edge's reads alike.
 */
export function checkPolicy(text: string): void {
  let parsed: { Statement?: unknown };
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new AwsError(400, 'MalformedPolicy', "Policies must be valid JSON and the first byte must be '{'");
  }
  const statements = (Array.isArray(parsed?.Statement) ? parsed.Statement : [parsed?.Statement]).filter(
    (s) => s !== undefined,
  ) as { Effect?: string; Resource?: unknown }[];
  if (!statements.length || statements.some((s) => (s.Effect !== 'Allow' && s.Effect !== 'Deny') || !s.Resource)) {
    throw new AwsError(
      400,
      'MalformedPolicy',
      'Policy has invalid statements: each needs Effect (Allow or Deny) and Resource.',
    );
  }
}
