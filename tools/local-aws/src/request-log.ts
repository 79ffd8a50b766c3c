import type { IamDecision } from './iam/authorize';

export interface LoggedRequest {
  /** `service.Operation` (e.g. `s3.PutObject`) or `edge.<distribution id>`. */
  operation: string;
  method: string;
  path: string;
  /** The status the local AWS answered, before any injected fault replaced it. */
  status: number;
  /** For a request signed with credentials from the local STS: the role session that made it. */
  principal?: string;
  /** And each authorization IAM made for it (up to the first denial), as the role's policies decided it. */
  authorizations?: IamDecision[];
}

const MAX_LOGGED_REQUESTS = 50_000;

/** Counts of requests by operation and the latest requests in order, so tests can check what happened before what. */
export class RequestLog {
  private readonly counts = new Map<string, number>();
  private readonly entries: LoggedRequest[] = [];

  record(entry: LoggedRequest): void {
    this.counts.set(entry.operation, (this.counts.get(entry.operation) ?? 0) + 1);
    this.entries.push(entry);
    if (this.entries.length > MAX_LOGGED_REQUESTS) this.entries.shift();
  }

  countsByOperation(): Record<string, number> {
    return Object.fromEntries([...this.counts].sort());
  }

  latest(): readonly LoggedRequest[] {
    return this.entries;
  }

  clear(): void {
    this.counts.clear();
    this.entries.length = 0;
  }
}
