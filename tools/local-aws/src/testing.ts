import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { Agent, request } from 'node:http';
import type { LookupFunction } from 'node:net';
import '@aws-sdk/signature-v4a';
import {
  CloudFrontKeyValueStoreClient,
  type CloudFrontKeyValueStoreClientConfig,
} from '@aws-sdk/client-cloudfront-keyvaluestore';
import { NodeHttpHandler } from '@smithy/node-http-handler';

import type { DistributionConfig } from '@aws-sdk/client-cloudfront';
import { awsCliRunner, type AwsCli } from './aws-cli';
import { start, type LocalAws, type LocalAwsOptions } from './server';
import type { ActionStart } from './codepipeline/api';
import type { Job, JobRequest, PullRequestEvent } from './codepipeline/state';
import type { ServiceCall } from './iam/service-actor';
import type { Fault } from './faults';
import type { LoggedRequest } from './request-log';

export interface LocalAwsHarness {
  aws: LocalAws;
  /** What a process needs to reach the local AWS through the SDK's default provider chain. */
  env: Record<string, string>;
  /** Runs the aws CLI against the local AWS (older CLIs ignore AWS_ENDPOINT_URL, so it is passed as a flag). */
  cli: AwsCli;
  /** Requests served so far, by `service.Operation`. */
  requests(): Promise<Record<string, number>>;
  resetRequests(): Promise<void>;
  /** The latest requests in the order served. */
  requestLog(): Promise<LoggedRequest[]>;
  /**
   * Credentials of a session of a deployed template's role, from the local STS (asked through the aws CLI), as a
   * process's environment: requests signed with them act as the role, and IAM decides each.
   */
  assumeRole(roleArn: string, sessionName: string): Promise<Record<string, string>>;
  /** Completes now the invalidations of `distributionId` that are in progress. */
  completeInvalidations(distributionId: string): Promise<{ completed: string[] }>;
  /** Makes the next `count` requests of `operation` fail: a reset connection or an error status. */
  injectFault(fault: Fault): Promise<void>;
  createJob(request: JobRequest): Promise<{ jobId: string; event: Job['event'] }>;
  /**
   * CodePipeline reaching a stage of an execution: it starts the stage's actions as the pipeline's role (a CodeBuild
   * project's build or batch, a Lambda function's job); running the build or the function is the caller's part.
   */
  startStage(pipelineExecutionId: string, stage: string): Promise<{ actions: ActionStart[] }>;
  /** A pull request's event on the repository host: the executions of the pipelines it triggers. */
  pullRequest(
    event: PullRequestEvent,
  ): Promise<{ executions: { pipelineName: string; pipelineExecutionId: string }[] }>;
  /** A service making `calls` with a deployed role (CodeBuild starting a batch's builds as the batch role). */
  actAs(roleArn: string, sessionName: string, calls: ServiceCall[]): Promise<{ refused?: { message: string } }>;
  job(jobId: string): Promise<Job>;
  stop(): Promise<void>;
}

/**
 * Starts a local AWS on a free port and points this process's SDK clients at it through the
 * standard `AWS_ENDPOINT_URL` variable, with throwaway credentials that only the local AWS accepts.
 */
export async function startLocalAws(options: LocalAwsOptions = {}): Promise<LocalAwsHarness> {
  const aws = await start({ port: 0, ...options });
  const env = {
    AWS_ENDPOINT_URL: aws.url,
    // The KeyValueStore API's endpoint puts the account first (`<account>.<host>`): a name, not an address.
    AWS_ENDPOINT_URL_CLOUDFRONT_KEYVALUESTORE: `http://localhost:${aws.port}`,
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    AWS_REGION: 'us-east-1',
    AWS_DEFAULT_REGION: 'us-east-1',
    AWS_PAGER: '',
    AWS_EC2_METADATA_DISABLED: 'true',
  };
  Object.assign(process.env, env);
  const awsCli = awsCliRunner({ ...process.env, ...env } as Record<string, string>, [
    '--endpoint-url',
    aws.url,
    '--output',
    'json',
  ]);
  const local = async (path: string, init?: RequestInit): Promise<any> => {
    const response = await fetch(`${aws.url}${path}`, init);
    if (!response.ok) throw new Error(`${init?.method ?? 'GET'} ${path}: ${response.status} ${await response.text()}`);
    return response.json();
  };
  return {
    aws,
    env,
    cli: awsCli.cli,
    requests: () => local('/_local/requests'),
    resetRequests: async () => void (await local('/_local/requests', { method: 'DELETE' })),
    requestLog: () => local('/_local/requests/log'),
    assumeRole: async (roleArn, sessionName) => {
      const assumed = await awsCli.cli([
        'sts',
        'assume-role',
        '--role-arn',
        roleArn,
        '--role-session-name',
        sessionName,
      ]);
      const { Credentials } = JSON.parse(assumed.stdout);
      return {
        ...env,
        AWS_ACCESS_KEY_ID: Credentials.AccessKeyId,
        AWS_SECRET_ACCESS_KEY: Credentials.SecretAccessKey,
        AWS_SESSION_TOKEN: Credentials.SessionToken,
      };
    },
    completeInvalidations: (distributionId) =>
      local(`/_local/cloudfront/${distributionId}/invalidations/complete`, { method: 'POST' }),
    injectFault: async (fault) => void (await local('/_local/faults', { method: 'POST', body: JSON.stringify(fault) })),
    createJob: (request) => local('/_local/codepipeline/jobs', { method: 'POST', body: JSON.stringify(request) }),
    job: (jobId) => local(`/_local/codepipeline/jobs/${jobId}`),
    pullRequest: (event) =>
      local('/_local/codepipeline/pull-requests', { method: 'POST', body: JSON.stringify(event) }),
    startStage: (pipelineExecutionId, stage) =>
      local(`/_local/codepipeline/executions/${pipelineExecutionId}/stages/${encodeURIComponent(stage)}`, {
        method: 'POST',
      }),
    actAs: (roleArn, sessionName, calls) =>
      local('/_local/iam/act', { method: 'POST', body: JSON.stringify({ roleArn, sessionName, calls }) }),
    stop: () => {
      awsCli.stop();
      return aws.stop();
    },
  };
}

/** GET `url` with the given Host header: reaches a local edge without `*.localhost` name resolution (fetch cannot set Host). */
export function getWithHost(url: string, host: string, headers: Record<string, string> = {}) {
  return new Promise<{ status: number; headers: Headers; body: Buffer }>((resolve, reject) => {
    const req = request(url, { headers: { ...headers, host } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const responseHeaders = new Headers();
        for (const [name, value] of Object.entries(res.headers))
          for (const one of [value ?? []].flat()) responseHeaders.append(name, one);
        resolve({ status: res.statusCode ?? 0, headers: responseHeaders, body: Buffer.concat(chunks) });
      });
    });
    req.on('error', reject);
    req.end();
  });
}

/** GET a path through a distribution's local edge. */
export function edgeGet(aws: LocalAws, distributionId: string, path: string, headers: Record<string, string> = {}) {
  return getWithHost(`${aws.url}${path}`, new URL(aws.edgeUrl(distributionId)).host, headers);
}

/** GET a path through a distribution's local edge on a host of a pull request's preview (`pr-<n>--<id>.…`). */
export function previewGet(
  aws: LocalAws,
  distributionId: string,
  preview: string,
  path: string,
  headers: Record<string, string> = {},
) {
  return getWithHost(`${aws.url}${path}`, `${preview}--${new URL(aws.edgeUrl(distributionId)).host}`, headers);
}

/** A distribution in front of `bucket` as the tests create them: index.html at /, one S3 origin, no caching rules. */
export function s3DistributionConfig(
  callerReference: string,
  bucket: string,
  extra: Partial<DistributionConfig> = {},
): DistributionConfig {
  return {
    CallerReference: callerReference,
    Comment: callerReference,
    Enabled: true,
    DefaultRootObject: 'index.html',
    Origins: {
      Quantity: 1,
      Items: [
        { Id: 's3', DomainName: `${bucket}.s3.us-east-1.amazonaws.com`, S3OriginConfig: { OriginAccessIdentity: '' } },
      ],
    },
    DefaultCacheBehavior: { TargetOriginId: 's3', ViewerProtocolPolicy: 'redirect-to-https' },
    ...extra,
  };
}

/**
 * A KeyValueStore client for the local AWS (or with `credentials`, a role's session): the SDK's own client, signing
 * with SigV4A, its endpoint the SDK's (`<account>.localhost:<port>`, from AWS_ENDPOINT_URL_CLOUDFRONT_KEYVALUESTORE),
 * resolved to loopback as RFC 6761 has every `*.localhost` name resolve.
 */
export function keyValueStoreClient(
  credentials?: CloudFrontKeyValueStoreClientConfig['credentials'],
): CloudFrontKeyValueStoreClient {
  const lookup: LookupFunction = (hostname, options, callback) => {
    if (hostname !== 'localhost' && !hostname.endsWith('.localhost')) return dnsLookup(hostname, options, callback);
    if (options.all)
      return (callback as (e: null, a: LookupAddress[]) => void)(null, [{ address: '127.0.0.1', family: 4 }]);
    return callback(null, '127.0.0.1', 4);
  };
  return new CloudFrontKeyValueStoreClient({
    region: 'us-east-1',
    ...(credentials ? { credentials } : {}),
    requestHandler: new NodeHttpHandler({ httpAgent: new Agent({ keepAlive: true, lookup }) }),
  });
}
