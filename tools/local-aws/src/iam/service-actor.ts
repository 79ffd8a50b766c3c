import type { RequestLog } from '../request-log';
import type { IamCheck } from './actions';
import { authorize } from './authorize';
import type { Roles } from './roles';

/** A call an AWS service makes by itself with a role it was given, e.g. CodePipeline's codebuild:StartBuild. */
export interface ServiceCall {
  /** `service.Operation`, as the request log names requests. */
  operation: string;
  check: IamCheck;
}

/**
 * A service acting as a role of a deployed template (CodePipeline as its pipeline role, CodeBuild as a project's
 * batch role): each call decided by IAM, in order up to the first refusal, and logged as a request of a session of
 * that role, as the calls a process makes with the role's credentials are. Answers the refused call, if any, with
 * IAM's message (who, which action, which resource, why). A role no template created (a pipeline made by hand) is the administrator's: nothing is decided.
 */
export type ActAs = (
  roleArn: string,
  sessionName: string,
  calls: ServiceCall[],
) => Promise<{ refused?: { call: ServiceCall; message: string } }>;

export function serviceActor(
  roles: Roles,
  requestLog: RequestLog,
  resourcePolicyOf: (check: IamCheck) => unknown,
): ActAs {
  return async (roleArn, sessionName, calls) => {
    const role = roles.get(roleArn);
    if (!role) return {};
    const session = roles.assume(roleArn, sessionName);
    for (const { operation, check } of calls) {
      const { decisions, denial } = await authorize(session, role, [check], resourcePolicyOf);
      requestLog.record({
        operation,
        method: 'POST',
        path: '/',
        status: denial ? 403 : 200,
        principal: session.arn,
        authorizations: decisions,
      });
      if (denial) return { refused: { call: { operation, check }, message: denial } };
    }
    return {};
  };
}
