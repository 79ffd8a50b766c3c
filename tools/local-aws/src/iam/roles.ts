import { randomBytes } from 'node:crypto';
import { ACCOUNT } from '../errors';

/** A role of a deployed template: its identity policies, as CloudFormation resolved them. */
export interface Role {
  name: string;
  arn: string;
  policies: { name: string; policy: unknown }[];
}

/** Credentials the local STS gave for a role, and who uses them. */
export interface Session {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  expiration: Date;
  roleArn: string;
  /** The session's principal, as AWS names it in a denial: `arn:aws:sts::<account>:assumed-role/<role>/<session>`. */
  arn: string;
}

const SESSION_SECONDS = 3600;

/**
 * The roles deployed templates created, and the sessions the local STS handed out for them. A request signed with a
 * session's access key acts as that role; any other key is the account's administrator (the harness, the aws CLI).
 */
export class Roles {
  private readonly byArn = new Map<string, Role>();
  private readonly sessions = new Map<string, Session>();

  put(role: Role): void {
    // A redeployed role's sessions get its new policies, as in AWS.
    this.byArn.set(role.arn, role);
  }

  get(arn: string): Role | undefined {
    return this.byArn.get(arn);
  }

  assume(roleArn: string, sessionName: string, now = new Date()): Session {
    const role = this.byArn.get(roleArn);
    if (!role) throw new Error(`no role ${roleArn}`);
    const accessKeyId = `ASIA${randomBytes(8).toString('hex').toUpperCase()}`;
    const session: Session = {
      accessKeyId,
      secretAccessKey: randomBytes(30).toString('base64'),
      sessionToken: randomBytes(48).toString('base64'),
      expiration: new Date(now.getTime() + SESSION_SECONDS * 1000),
      roleArn,
      arn: `arn:aws:sts::${ACCOUNT}:assumed-role/${role.name}/${sessionName}`,
    };
    this.sessions.set(accessKeyId, session);
    return session;
  }

  /** The session an access key belongs to; undefined for the administrator's keys. */
  session(accessKeyId: string | undefined): Session | undefined {
    return accessKeyId === undefined ? undefined : this.sessions.get(accessKeyId);
  }
}
