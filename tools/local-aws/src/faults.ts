/**
 * A fault a test asked for: the next `count` requests of an operation are handled, then their answer is lost (the
 * connection is reset) or replaced by an error. This models what a proxy cannot: a request that took effect although
 * the client saw it fail. Random faults before a request arrives come from `tools/fault-proxy`.
 */
export interface Fault {
  /** `service.Operation`, e.g. `s3.PutObject`, as `describeRequest` names it. */
  operation: string;
  count: number;
  action: 'reset' | 'error';
  status?: number;
  code?: string;
  pathIncludes?: string;
}

export class Faults {
  private readonly pending: Fault[] = [];

  add(fault: Fault): readonly Fault[] {
    this.pending.push(fault);
    return this.pending;
  }

  clear(): void {
    this.pending.length = 0;
  }

  /** The fault that applies to this request, if any; using it counts it down. */
  take(operation: string, pathname: string): Fault | undefined {
    const fault = this.pending.find(
      (f) => f.operation === operation && f.count > 0 && (!f.pathIncludes || pathname.includes(f.pathIncludes)),
    );
    if (fault) fault.count--;
    return fault;
  }
}
