import type { Edge } from './cloudfront/edge';
import { AwsError } from './errors';
import type { CloudFrontService } from './cloudfront/api';
import type { CodePipelineService } from './codepipeline/api';
import type { Faults } from './faults';
import type { Role, Roles } from './iam/roles';
import type { ActAs } from './iam/service-actor';
import type { LocalRequest, LocalResponse } from './http';
import type { RequestLog } from './request-log';

export const ADMIN_PREFIX = '/_local/';

/**
 * The local AWS's own API under `/_local/`, for tests and the demo: health, request counts and log, injected faults,
 * a distribution's edge cache, CodePipeline jobs, execution states and stages, the roles deployed templates create
 * and services acting with them.
 */
export function adminApi(parts: {
  requestLog: RequestLog;
  faults: Faults;
  cloudfront: CloudFrontService;
  edge: Edge;
  codepipeline: CodePipelineService;
  roles: Roles;
  actAs: ActAs;
}): (ctx: LocalRequest) => Promise<LocalResponse> {
  const { requestLog, faults, cloudfront, edge, codepipeline, roles, actAs } = parts;
  const json = (value: unknown, status = 200): LocalResponse => ({
    status,
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(value),
  });
  const route = async (ctx: LocalRequest): Promise<LocalResponse> => {
    const path = ctx.url.pathname;
    const input = () => (ctx.body.length ? JSON.parse(ctx.body.toString('utf8')) : {});
    let match: RegExpExecArray | null;
    if (path === '/_local/health') return json({ ok: true });
    if (path === '/_local/requests' && ctx.method === 'GET') return json(requestLog.countsByOperation());
    if (path === '/_local/requests' && ctx.method === 'DELETE') {
      requestLog.clear();
      return json({});
    }
    if (path === '/_local/requests/log') return json(requestLog.latest());
    if (path === '/_local/iam/roles' && ctx.method === 'PUT') {
      // What CloudFormation's AWS::IAM::Role creates: the role and its inline policies, sessions of it then obey.
      roles.put(input() as Role);
      return json({});
    }
    if (path === '/_local/iam/act' && ctx.method === 'POST') {
      // A service acting with a role it was given, e.g. CodeBuild starting a batch's builds as the batch role.
      const { roleArn, sessionName, calls } = input();
      return json(await actAs(roleArn, sessionName, calls));
    }
    if (path === '/_local/faults' && ctx.method === 'POST') return json(faults.add(input()), 201);
    if (path === '/_local/faults' && ctx.method === 'DELETE') {
      faults.clear();
      return json({});
    }
    if ((match = /^\/_local\/cloudfront\/([^/]+)\/invalidations\/complete$/.exec(path)) && ctx.method === 'POST') {
      // A test's "the edges are done now": what was in progress completes at once, instead of at its time.
      const now = Date.now();
      const completed = cloudfront.state.inProgress(cloudfront.distribution(match[1]).id);
      for (const invalidation of completed) invalidation.completesAt = now;
      return json({ completed: completed.map((i) => i.id) });
    }
    if ((match = /^\/_local\/cloudfront\/([^/]+)\/cache$/.exec(path))) {
      cloudfront.distribution(match[1]);
      return json({ paths: edge.cachedPaths(match[1]), ...edge.statsFor(match[1]) });
    }
    if (path === '/_local/codepipeline/pull-requests' && ctx.method === 'POST')
      return json(codepipeline.pullRequestEvent(input()));
    if (path === '/_local/codepipeline/jobs' && ctx.method === 'POST') {
      const job = codepipeline.createJob(input());
      return json({ jobId: job.id, event: job.event }, 201);
    }
    if ((match = /^\/_local\/codepipeline\/jobs\/([^/]+)$/.exec(path))) {
      const job = codepipeline.state.jobs.get(match[1]);
      return job ? json(job) : json({ message: `no job ${match[1]}` }, 404);
    }
    if ((match = /^\/_local\/codepipeline\/executions\/([^/]+)$/.exec(path)) && ctx.method === 'PUT') {
      return json(codepipeline.setExecutionStatus(match[1], input().status));
    }
    if ((match = /^\/_local\/codepipeline\/executions\/([^/]+)\/stages\/([^/]+)$/.exec(path)) && ctx.method === 'POST')
      return json(await codepipeline.startStage(match[1], decodeURIComponent(match[2])));
    return json({ message: `no local endpoint ${ctx.method} ${path}` }, 404);
  };
  return (ctx) =>
    route(ctx).catch((error) => {
      if (error instanceof AwsError) return json({ code: error.code, message: error.message }, error.status);
      throw error;
    });
}
