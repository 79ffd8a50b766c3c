import { simulate, type IamCheck, type LoggedRequest, type Role, type StackResult } from 'local-aws';

/** A call of the journey as IAM authorized it: which step made it, as which API operation. */
interface JourneyCall extends IamCheck {
  step: string;
  operation: string;
}

/** One action a role is granted on one resource, and the calls of the journey that need it. */
export interface Grant {
  role: string;
  sid: string;
  action: string;
  /** As the template names it: the stack's physical names as `${LogicalId}`. */
  resource: string;
  neededBy: string[];
}

type Statement = Record<string, unknown>;

const list = <T>(value: T | T[] | undefined): T[] =>
  value === undefined ? [] : Array.isArray(value) ? value : [value];

/**
 * The calls each role of the deployed templates made in a journey, as the local AWS authorized them, and what each
 * grant is for: the necessity check replays a role's calls against its policies with one action taken out on one
 * of its statement's resources (the same evaluator the local AWS decides requests with); the calls that are then
 * refused are what need it. So a resource wider than the calls need shows as well as an action they never make.
 */
export class JourneyCalls {
  private readonly roles = new Map<
    string,
    {
      policies: Role['policies'];
      /** Physical names of the role's stack and the `${LogicalId}` the template writes for each. */
      names: [string, string][];
      calls: Map<string, JourneyCall>;
    }
  >();

  /** Records the calls `log` holds of sessions of the stack's role `logicalId`, made by `step`. */
  record(stack: StackResult, logicalId: string, step: string, log: LoggedRequest[]): LoggedRequest[] {
    const name = stack.resources[logicalId];
    const made = log.filter((r) => r.principal?.includes(`:assumed-role/${name}/`));
    const key = `${logicalId}@${name}`;
    // Attributes first where longer (an ARN), so that a resource reads as the template writes it.
    const attributes = Object.entries(stack.attributes).flatMap(([id, values]) =>
      Object.entries(values).map(([attribute, value]) => [value, `\${${id}.${attribute}}`] as [string, string]),
    );
    const names = [
      ...attributes,
      ...Object.entries({ ...stack.parameters, ...stack.resources }).map(
        ([id, value]) => [value, `\${${id}}`] as [string, string],
      ),
    ].sort(([a], [b]) => b.length - a.length);
    const role = this.roles.get(key) ?? {
      policies: (stack.properties[logicalId].Policies as { PolicyName: string; PolicyDocument: unknown }[]).map(
        (p) => ({ name: p.PolicyName, policy: p.PolicyDocument }),
      ),
      names,
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

  /** Every action on every resource granted to a role that made calls, with the calls that need it (none: unused). */
  async grants(): Promise<Grant[]> {
    const byGrant = new Map<string, Grant>();
    for (const [key, { policies, names, calls }] of this.roles) {
      const [logicalId, roleName] = key.split('@');
      const principal = `arn:aws:sts::000000000000:assumed-role/${roleName}/necessity`;
      const symbolic = (arn: string) => names.reduce((text, [value, name]) => text.split(value).join(name), arn);
      for (const [p, { policy }] of policies.entries()) {
        const statements = list((policy as { Statement: Statement | Statement[] }).Statement);
        for (const [s, statement] of statements.entries()) {
          const actions = list(statement.Action as string | string[]);
          const resources = list(statement.Resource as string | string[]);
          for (const action of actions)
            for (const resource of resources) {
              // The statement without this action, and the action alone on the statement's other resources.
              const split = [
                { ...statement, Action: actions.filter((a) => a !== action), Resource: resources },
                { ...statement, Action: [action], Resource: resources.filter((r) => r !== resource) },
              ].filter((st) => st.Action.length > 0 && st.Resource.length > 0);
              const without = policies.map((entry, i) =>
                i !== p
                  ? entry
                  : {
                      ...entry,
                      policy: {
                        ...(entry.policy as object),
                        Statement: statements.flatMap((st, j) => (j !== s ? [st] : split)),
                      },
                    },
              );
              const sid = String(statement.Sid ?? s);
              const id = `${logicalId} ${sid} ${action} ${symbolic(resource)}`;
              const grant = byGrant.get(id) ?? {
                role: logicalId,
                sid,
                action,
                resource: symbolic(resource),
                neededBy: [],
              };
              byGrant.set(id, grant);
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
    return [...byGrant.values()];
  }
}

/**
 * The grants no call of the journey needs, by `Role Statement action` when the action is needed on none of its
 * resources, else by `Role Statement action resource`: a resource wider than the journey needs is named on its own.
 */
export function unusedGrants(grants: Grant[]): string[] {
  const action = (g: Grant) => `${g.role} ${g.sid} ${g.action}`;
  const used = new Set(grants.filter((g) => g.neededBy.length).map(action));
  return [
    ...new Set(
      grants
        .filter((g) => !g.neededBy.length)
        .map((g) => (used.has(action(g)) ? `${action(g)} ${g.resource}` : action(g))),
    ),
  ];
}

/** The README's table of the grants: each with the calls that need it, or the path the journey cannot reach. */
export function grantsTable(grants: Grant[], unreached: Record<string, string>): string {
  // Each role's rows together, each statement's together, in the order the journey first met them.
  const firstOf = (key: (g: Grant) => string) => (g: Grant) => grants.findIndex((other) => key(other) === key(g));
  const [role, statement] = [firstOf((g) => g.role), firstOf((g) => `${g.role} ${g.sid}`)];
  const ordered = [...grants].sort((a, b) => role(a) - role(b) || statement(a) - statement(b));
  const rows = ordered.map((g) => {
    const why = g.neededBy.length
      ? g.neededBy.join('; ')
      : `not in the journey: ${unreached[`${g.role} ${g.sid} ${g.action}`] ?? unreached[`${g.role} ${g.sid} ${g.action} ${g.resource}`]}`;
    return `| ${g.role} | ${g.sid} | \`${g.action}\` | \`${g.resource}\` | ${why} |`;
  });
  return [
    '| Role | Statement | Action | Resource | Needed by (journey step: call) |',
    '| --- | --- | --- | --- | --- |',
    ...rows,
  ].join('\n');
}
