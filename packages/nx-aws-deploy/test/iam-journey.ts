import { simulate, type IamCheck, type LoggedRequest, type Role, type StackResult } from 'local-aws';

/** A call of the journey as IAM authorized it: which step made it, as which API operation. */
interface JourneyCall extends IamCheck {
  step: string;
  operation: string;
}

/** One granted action of a role (by its logical id) and the calls of the journey that need it. */
export interface Grant {
  role: string;
  sid: string;
  action: string;
  resource: string;
  neededBy: string[];
}

const list = <T>(value: T | T[] | undefined): T[] =>
  value === undefined ? [] : Array.isArray(value) ? value : [value];

/**
 * The calls each role of the deployed templates made in a journey, as the local AWS authorized them, and what each
 * granted action is for: the necessity check replays a role's calls against its policies with one action taken out
 * (the same evaluator the local AWS decides requests with); the calls that are then refused are what need it.
 */
export class JourneyCalls {
  private readonly roles = new Map<
    string,
    { policies: Role['policies']; stacks: Set<string>; calls: Map<string, JourneyCall> }
  >();

  /** Records the calls `log` holds of sessions of the stack's role `logicalId`, made by `step`. */
  record(stack: StackResult, logicalId: string, step: string, log: LoggedRequest[]): LoggedRequest[] {
    const name = stack.resources[logicalId];
    const made = log.filter((r) => r.principal?.includes(`:assumed-role/${name}/`));
    const key = `${logicalId}@${name}`;
    const role = this.roles.get(key) ?? {
      policies: (stack.properties[logicalId].Policies as { PolicyName: string; PolicyDocument: unknown }[]).map(
        (p) => ({ name: p.PolicyName, policy: p.PolicyDocument }),
      ),
      stacks: new Set<string>(),
      calls: new Map<string, JourneyCall>(),
    };
    this.roles.set(key, role);
    for (const request of made)
      for (const check of request.authorizations ?? [])
        role.calls.set(JSON.stringify([step, request.operation, check]), {
          ...check,
          step,
          operation: request.operation,
        });
    return made;
  }

  /** Every granted action of every role that made calls, with the calls that need it (none: the journey never does). */
  async grants(): Promise<Grant[]> {
    const byAction = new Map<string, Grant>();
    for (const [key, { policies, calls }] of this.roles) {
      const logicalId = key.split('@')[0];
      const principal = `arn:aws:sts::000000000000:assumed-role/${key.split('@')[1]}/necessity`;
      for (const [p, { policy }] of policies.entries()) {
        const statements = list(
          (policy as { Statement: Record<string, unknown> | Record<string, unknown>[] }).Statement,
        );
        for (const [s, statement] of statements.entries()) {
          for (const action of list(statement.Action as string | string[])) {
            const without = policies.map((entry, i) =>
              i !== p
                ? entry
                : {
                    ...entry,
                    policy: {
                      ...(entry.policy as object),
                      Statement: statements
                        .map((st, j) =>
                          j !== s
                            ? st
                            : { ...st, Action: list(st.Action as string | string[]).filter((a) => a !== action) },
                        )
                        .filter((st) => list(st.Action as string | string[]).length > 0),
                    },
                  },
            );
            const id = `${logicalId} ${String(statement.Sid ?? s)} ${action}`;
            const grant = byAction.get(id) ?? {
              role: logicalId,
              sid: String(statement.Sid ?? ''),
              action,
              resource: list(statement.Resource as string | string[]).join(', '),
              neededBy: [],
            };
            byAction.set(id, grant);
            for (const call of calls.values()) {
              if (call.action.toLowerCase() !== action.toLowerCase() && !action.includes('*')) continue;
              const decided = await simulate(principal, without, call);
              const need = `${call.step}: ${call.operation.split('.')[1]}`;
              if (decided.overallResult !== 'Allowed' && !grant.neededBy.includes(need)) grant.neededBy.push(need);
            }
          }
        }
      }
    }
    return [...byAction.values()];
  }
}

/** The README's table of the grants: each with the calls that need it, or the path the journey cannot reach. */
export function grantsTable(grants: Grant[], unreached: Record<string, string>): string {
  const rows = grants.map((g) => {
    const why = g.neededBy.length
      ? g.neededBy.join('; ')
      : `not in the journey: ${unreached[`${g.role} ${g.sid} ${g.action}`]}`;
    return `| ${g.role} | ${g.sid} | \`${g.action}\` | ${why} |`;
  });
  return ['| Role | Statement | Action | Needed by (journey step: call) |', '| --- | --- | --- | --- |', ...rows].join(
    '\n',
  );
}
