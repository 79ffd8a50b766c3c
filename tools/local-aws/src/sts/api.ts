import { ACCOUNT, AwsError } from '../errors';
import type { LocalRequest, LocalResponse } from '../http';
import type { Roles } from '../iam/roles';
import { STS_NS } from '../operations';
import { el, xmlDocument } from '../xml';

/** The STS operation of a Query-protocol request: its form body's `Action`. */
export const stsOperation = (ctx: Pick<LocalRequest, 'body' | 'url'>): string =>
  new URLSearchParams(ctx.body.toString('utf8')).get('Action') ?? ctx.url.searchParams.get('Action') ?? 'Unknown';

/**
 * STS's Query API, the part the actors of a deployed template need: AssumeRole hands out credentials that act as
 * one of its roles (the local AWS then authorizes their every request against the role's policies), and
 * GetCallerIdentity says who a key is.
 */
export class StsService {
  constructor(private readonly roles: Roles) {}

  handle(ctx: LocalRequest): LocalResponse {
    const form = new URLSearchParams(ctx.body.toString('utf8'));
    if (ctx.operation === 'AssumeRole') return this.assumeRole(ctx, form);
    if (ctx.operation === 'GetCallerIdentity') return this.callerIdentity(ctx);
    throw new AwsError(400, 'InvalidAction', `Could not find operation ${ctx.operation} for version 2011-06-15`);
  }

  private assumeRole(ctx: LocalRequest, form: URLSearchParams): LocalResponse {
    const roleArn = form.get('RoleArn') ?? '';
    const sessionName = form.get('RoleSessionName') ?? '';
    if (!/^[\w+=,.@-]{2,64}$/.test(sessionName))
      throw new AwsError(
        400,
        'ValidationError',
        `1 validation error detected: Value '${sessionName}' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*`,
      );
    if (!this.roles.get(roleArn))
      throw new AwsError(
        403,
        'AccessDenied',
        `User: ${this.callerArn(ctx)} is not authorized to perform: sts:AssumeRole on resource: ${roleArn}`,
      );
    const session = this.roles.assume(roleArn, sessionName);
    const credentials =
      el('AccessKeyId', session.accessKeyId) +
      el('SecretAccessKey', session.secretAccessKey) +
      el('SessionToken', session.sessionToken) +
      el('Expiration', session.expiration.toISOString());
    const user = el('AssumedRoleId', `AROA${session.accessKeyId.slice(4)}:${sessionName}`) + el('Arn', session.arn);
    return this.answer(
      ctx,
      'AssumeRole',
      `<Credentials>${credentials}</Credentials><AssumedRoleUser>${user}</AssumedRoleUser>`,
    );
  }

  private callerIdentity(ctx: LocalRequest): LocalResponse {
    const session = this.roles.session(ctx.scope.accessKeyId);
    const userId = session ? `AROA${session.accessKeyId.slice(4)}` : ACCOUNT;
    return this.answer(
      ctx,
      'GetCallerIdentity',
      el('Arn', this.callerArn(ctx)) + el('UserId', userId) + el('Account', ACCOUNT),
    );
  }

  /** A session's assumed-role ARN; any other key is the account's administrator (its root user). */
  private callerArn(ctx: LocalRequest): string {
    return this.roles.session(ctx.scope.accessKeyId)?.arn ?? `arn:aws:iam::${ACCOUNT}:root`;
  }

  private answer(ctx: LocalRequest, action: string, result: string): LocalResponse {
    const body = `<${action}Response xmlns="${STS_NS}"><${action}Result>${result}</${action}Result><ResponseMetadata>${el('RequestId', ctx.requestId)}</ResponseMetadata></${action}Response>`;
    return { status: 200, headers: { 'Content-Type': 'text/xml' }, body: xmlDocument(body) };
  }
}
