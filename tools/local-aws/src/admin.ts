import type { Edge } from './cloudfront/edge';
import type { CloudFrontService } from './cloudfront/api';
import type { CodePipelineService } from './codepipeline/api';
import type { Faults } from './faults';
import type { Role, Roles } from './iam/roles';
import type { LocalRequest, LocalResponse } from './http';
import type { RequestLog } from './request-log';

export const ADMIN_PREFIX = '/_local/';

/**
 * The local AWS's own API under `/_local/`, for tests and the demo: health, request counts and log, injected faults,
 * a distribution's edge cache, CodePipeline jobs and execution states, the roles deployed templates create.
 */
export function adminApi(parts: {
  requestLog: RequestLog;
  faults: Faults;
  cloudfront: CloudFrontService;
  edge: Edge;
  codepipeline: CodePipelineService;
  roles: Roles;
}): (ctx: LocalRequest) => LocalResponse {
  const { requestLog, faults, cloudfront, edge, codepipeline, roles } = parts;
  return (ctx) => {
    const path = ctx.url.pathname;
    const json = (value: unknown, status = 200): LocalResponse => ({
      status,
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(value),
    });
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
    return json({ message: `no local endpoint ${ctx.method} ${path}` }, 404);
  };
}
