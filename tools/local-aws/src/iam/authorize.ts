import { runSimulation, type SuccessfulRunSimulationResults } from '@cloud-copilot/iam-simulate';
import { ACCOUNT, AwsError } from '../errors';
import type { IamCheck } from './actions';
import type { Role, Session } from './roles';

/** What the local AWS decided for one authorization of a request: kept in the request log for the tests. */
export interface IamDecision extends IamCheck {
  allowed: boolean;
}

/**
 * Evaluates each authorization of a request as IAM does for a principal of this account: the role's identity
 * policies together with the resource's policy (a bucket policy), explicit deny over allow over implicit deny.
 * The evaluation is @cloud-copilot/iam-simulate's (a maintained evaluator: every condition operator, resource
 * policies, principals), not ours. Answers the decisions up to the first denial, and that denial's message as S3
 * and CloudFront write it since 2024 (who, which action, which resource, why).
 */
export async function authorize(
  session: Session,
  role: Role,
  checks: IamCheck[],
  resourcePolicyOf: (check: IamCheck) => unknown,
): Promise<{ decisions: IamDecision[]; denial?: string }> {
  const decisions: IamDecision[] = [];
  for (const check of checks) {
    const simulation = await simulate(session.arn, role.policies, check, resourcePolicyOf(check));
    const decision = { ...check, allowed: simulation.overallResult === 'Allowed' };
    decisions.push(decision);
    if (!decision.allowed) {
      const explicitIn =
        simulation.resultType === 'single' && simulation.result.analysis.resourceAnalysis?.result === 'ExplicitlyDenied'
          ? 'a resource-based policy'
          : 'an identity-based policy';
      const why =
        simulation.overallResult === 'ExplicitlyDenied'
          ? `with an explicit deny in ${explicitIn}`
          : `because no identity-based policy allows the ${check.action} action`;
      return {
        decisions,
        denial: `User: ${session.arn} is not authorized to perform: ${check.action} on resource: "${check.resource}" ${why}`,
      };
    }
  }
  return { decisions };
}

/**
 * What IAM decides for one authorization of `principal` (of this account) with these identity policies and the
 * resource's policy; throws when the evaluator cannot evaluate it (a malformed policy, an unknown action).
 */
export async function simulate(
  principal: string,
  policies: Role['policies'],
  check: IamCheck,
  resourcePolicy?: unknown,
): Promise<SuccessfulRunSimulationResults> {
  const simulation = await runSimulation(
    {
      request: {
        principal,
        action: check.action,
        resource: { resource: check.resource, accountId: ACCOUNT },
        contextVariables: check.context,
      },
      identityPolicies: policies,
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      ...(resourcePolicy ? { resourcePolicy } : {}),
    },
    {},
  );
  if (simulation.resultType === 'error')
    throw new AwsError(
      500,
      'InternalError',
      `local-aws could not evaluate ${check.action}: ${simulation.errors.message}`,
    );
  return simulation;
}
