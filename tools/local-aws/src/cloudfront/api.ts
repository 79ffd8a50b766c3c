import { ACCOUNT, AwsError } from '../errors';
import { header, type LocalRequest, type LocalResponse } from '../http';
import { el, parseXml, xmlDocument } from '../xml';
import { CLOUDFRONT_API, CLOUDFRONT_NS } from '../operations';
import { randomUUID } from 'node:crypto';
import {
  cloudFrontId,
  type CloudFrontFunction,
  type CloudFrontState,
  type Distribution,
  type Invalidation,
  type KeyValueStore,
} from './state';

/** CloudFront's limits on invalidations in progress per distribution. */
export const MAX_PATHS_IN_PROGRESS = 3000;
export const MAX_WILDCARDS_IN_PROGRESS = 15;

export interface CloudFrontOptions {
  /** How long an invalidation stays InProgress. */
  invalidationMs: number;
  /** Host suffix of the local edge, e.g. `cloudfront.localhost`. */
  edgeDomain: string;
  onInvalidate: (distribution: Distribution, paths: string[]) => void;
  onChange: () => void;
}

export class CloudFrontService {
  constructor(
    readonly state: CloudFrontState,
    private readonly options: CloudFrontOptions,
  ) {}

  /** Answers a request whose operation and id params `describeRequest` named. */
  handle(ctx: LocalRequest): LocalResponse {
    const [id = '', invalidationId = ''] = ctx.params;
    const handlers: Record<string, () => LocalResponse> = {
      CreateDistribution: () => this.createDistribution(ctx),
      ListDistributions: () => this.listDistributions(),
      GetDistribution: () => this.getDistribution(id),
      GetDistributionConfig: () => this.getDistributionConfig(id),
      CreateInvalidation: () => this.createInvalidation(ctx, id),
      ListInvalidations: () => this.listInvalidations(ctx, id),
      GetInvalidation: () => this.getInvalidation(id, invalidationId),
      CreateFunction: () => this.createFunction(ctx),
      PublishFunction: () => this.publishFunction(ctx, id),
      UpdateFunction: () => this.updateFunction(ctx, id),
      DescribeFunction: () => this.describeFunction(id),
      CreateKeyValueStore: () => this.createKeyValueStore(ctx),
      ListKeyValueStores: () => this.listKeyValueStores(),
      DescribeKeyValueStore: () => this.describeKeyValueStore(id),
      DeleteKeyValueStore: () => this.deleteKeyValueStore(ctx, id),
    };
    const run = handlers[ctx.operation];
    if (!run)
      throw new AwsError(
        400,
        'InvalidArgument',
        `The local CloudFront does not implement ${ctx.method} ${ctx.url.pathname}.`,
      );
    return run();
  }

  distribution(id: string): Distribution {
    const distribution = this.state.distributions.get(id);
    if (!distribution) throw new AwsError(404, 'NoSuchDistribution', 'The specified distribution does not exist.');
    return distribution;
  }

  private createDistribution(ctx: LocalRequest): LocalResponse {
    const configXml = ctx.body.toString('utf8').replace(/^<\?xml[^>]*>\s*/, '');
    const config = parseXml(configXml).DistributionConfig;
    if (!config)
      throw new AwsError(
        400,
        'MalformedInput',
        'The XML document you provided was malformed or did not validate against the schema.',
      );
    const callerReference = String(config.CallerReference ?? '');
    const origins: any[] = config.Origins?.Items?.Origin ?? [];
    const targetOriginId = config.DefaultCacheBehavior?.TargetOriginId;
    if (!callerReference) throw new AwsError(400, 'InvalidArgument', 'CallerReference is required.');
    if (!origins.length) throw new AwsError(400, 'InvalidArgument', 'The distribution must have at least one origin.');
    const origin = origins.find((o) => String(o.Id) === String(targetOriginId));
    if (!origin)
      throw new AwsError(
        400,
        'NoSuchOrigin',
        `No origin exists with the ID ${targetOriginId} named by the default cache behavior.`,
      );
    const existing = [...this.state.distributions.values()].find((d) => d.callerReference === callerReference);
    if (existing)
      throw new AwsError(
        409,
        'DistributionAlreadyExists',
        `The caller reference that you are using to create a distribution is associated with another distribution. Already exists: ${existing.id}`,
      );
    const domain = String(origin.DomainName ?? '');
    const originBucket = domain.split('.s3')[0];
    if (!originBucket)
      throw new AwsError(400, 'InvalidArgument', `The origin domain name ${domain} is not an S3 bucket domain.`);
    const id = cloudFrontId('E');
    const associations = config.DefaultCacheBehavior?.FunctionAssociations?.Items?.FunctionAssociation ?? [];
    const associated = (eventType: string) => {
      const association = [associations].flat().find((f: any) => f.EventType === eventType);
      if (!association) return undefined;
      const name = String(association.FunctionARN).split('/').pop()!;
      if (!this.state.functions.has(name))
        throw new AwsError(
          400,
          'InvalidFunctionAssociation',
          `The function ${association.FunctionARN} does not exist.`,
        );
      return name;
    };
    const distribution: Distribution = {
      id,
      arn: `arn:aws:cloudfront::${ACCOUNT}:distribution/${id}`,
      domainName: `${id.toLowerCase()}.${this.options.edgeDomain}`,
      callerReference,
      lastModified: new Date().toISOString(),
      etag: cloudFrontId('E'),
      configXml,
      originBucket,
      originPath: String(origin.OriginPath ?? '').replace(/^\/+|\/+$/g, ''),
      defaultRootObject: String(config.DefaultRootObject ?? ''),
      viewerRequestFunction: associated('viewer-request'),
      viewerResponseFunction: associated('viewer-response'),
      customErrors: (config.CustomErrorResponses?.Items?.CustomErrorResponse ?? []).map((e: any) => ({
        errorCode: Number(e.ErrorCode),
        responsePagePath: e.ResponsePagePath ? String(e.ResponsePagePath) : undefined,
        responseCode: e.ResponseCode ? Number(e.ResponseCode) : undefined,
      })),
    };
    this.state.distributions.set(id, distribution);
    this.options.onChange();
    return xml(201, this.distributionXml(distribution), {
      Location: `https://cloudfront.amazonaws.com${CLOUDFRONT_API}/distribution/${id}`,
      ETag: distribution.etag,
    });
  }

  private distributionXml(d: Distribution): string {
    const inProgress = this.state.inProgress(d.id).length;
    return `<Distribution xmlns="${CLOUDFRONT_NS}">${el('Id', d.id)}${el('ARN', d.arn)}<Status>Deployed</Status>${el('LastModifiedTime', d.lastModified)}${el('InProgressInvalidationBatches', inProgress)}${el('DomainName', d.domainName)}<ActiveTrustedSigners><Enabled>false</Enabled><Quantity>0</Quantity></ActiveTrustedSigners><ActiveTrustedKeyGroups><Enabled>false</Enabled><Quantity>0</Quantity></ActiveTrustedKeyGroups>${d.configXml}</Distribution>`;
  }

  private getDistribution(id: string): LocalResponse {
    const d = this.distribution(id);
    return xml(200, this.distributionXml(d), { ETag: d.etag });
  }

  private getDistributionConfig(id: string): LocalResponse {
    const d = this.distribution(id);
    return xml(200, d.configXml, { ETag: d.etag });
  }

  private listDistributions(): LocalResponse {
    const items = [...this.state.distributions.values()].map((d) => {
      const inner = d.configXml.replace(/^<DistributionConfig[^>]*>/, '').replace(/<\/DistributionConfig>\s*$/, '');
      return `<DistributionSummary>${el('Id', d.id)}${el('ARN', d.arn)}<Status>Deployed</Status>${el('LastModifiedTime', d.lastModified)}${el('DomainName', d.domainName)}${inner}</DistributionSummary>`;
    });
    return xml(
      200,
      `<DistributionList xmlns="${CLOUDFRONT_NS}"><Marker></Marker><MaxItems>100</MaxItems><IsTruncated>false</IsTruncated>${el('Quantity', items.length)}${items.length ? `<Items>${items.join('')}</Items>` : ''}</DistributionList>`,
    );
  }

  private createInvalidation(ctx: LocalRequest, distributionId: string): LocalResponse {
    const distribution = this.distribution(distributionId);
    const batch = parseXml(ctx.body.toString('utf8')).InvalidationBatch;
    const paths: string[] = (batch?.Paths?.Items?.Path ?? []).map(String);
    const callerReference = String(batch?.CallerReference ?? '');
    if (!batch || !callerReference)
      throw new AwsError(400, 'MalformedInput', 'The InvalidationBatch must have Paths and a CallerReference.');
    if (Number(batch.Paths?.Quantity) !== paths.length) {
      throw new AwsError(400, 'InconsistentQuantities', "The value of Quantity and the size of Items don't match.");
    }
    if (!paths.length)
      throw new AwsError(400, 'InvalidArgument', 'Your request must contain at least one invalidation path.');
    const badPath = paths.find((p) => !p.startsWith('/') || p.slice(0, -1).includes('*'));
    if (badPath !== undefined) {
      throw new AwsError(
        400,
        'InvalidArgument',
        `Your request contains one or more invalid invalidation paths: ${badPath}. Paths start with / and may end with one *.`,
      );
    }
    const all = this.state.invalidations.get(distributionId) ?? [];
    const previous = all.find((i) => i.callerReference === callerReference);
    if (previous) {
      if (previous.paths.join('\n') !== paths.join('\n')) {
        throw new AwsError(
          409,
          'InvalidationBatchAlreadyExists',
          `An invalidation batch with caller reference ${callerReference} already exists with different paths.`,
        );
      }
      return xml(201, this.invalidationXml(previous), { Location: this.invalidationLocation(previous) });
    }
    const inProgress = this.state.inProgress(distributionId).flatMap((i) => i.paths);
    const wildcards = (list: string[]) => list.filter((p) => p.endsWith('*')).length;
    if (
      wildcards(inProgress) + wildcards(paths) > MAX_WILDCARDS_IN_PROGRESS ||
      inProgress.length - wildcards(inProgress) + paths.length - wildcards(paths) > MAX_PATHS_IN_PROGRESS
    ) {
      throw new AwsError(
        400,
        'TooManyInvalidationsInProgress',
        `You have exceeded the maximum number of allowable InProgress invalidation batch requests, or invalidation objects (${MAX_PATHS_IN_PROGRESS} paths, ${MAX_WILDCARDS_IN_PROGRESS} wildcard paths).`,
      );
    }
    const invalidation: Invalidation = {
      id: cloudFrontId('I'),
      distributionId,
      callerReference,
      paths,
      createTime: new Date().toISOString(),
      completesAt: Date.now() + this.options.invalidationMs,
    };
    this.state.invalidations.set(distributionId, [...all, invalidation]);
    this.options.onInvalidate(distribution, paths);
    this.options.onChange();
    return xml(201, this.invalidationXml(invalidation), { Location: this.invalidationLocation(invalidation) });
  }

  private invalidationLocation(i: Invalidation): string {
    return `https://cloudfront.amazonaws.com${CLOUDFRONT_API}/distribution/${i.distributionId}/invalidation/${i.id}`;
  }

  private invalidationXml(i: Invalidation): string {
    const paths = i.paths.map((p) => el('Path', p)).join('');
    return `<Invalidation xmlns="${CLOUDFRONT_NS}">${el('Id', i.id)}${el('Status', this.state.invalidationStatus(i))}${el('CreateTime', i.createTime)}<InvalidationBatch><Paths>${el('Quantity', i.paths.length)}<Items>${paths}</Items></Paths>${el('CallerReference', i.callerReference)}</InvalidationBatch></Invalidation>`;
  }

  private getInvalidation(distributionId: string, id: string): LocalResponse {
    this.distribution(distributionId);
    const invalidation = (this.state.invalidations.get(distributionId) ?? []).find((i) => i.id === id);
    if (!invalidation) throw new AwsError(404, 'NoSuchInvalidation', 'The specified invalidation does not exist.');
    return xml(200, this.invalidationXml(invalidation));
  }

  private listInvalidations(ctx: LocalRequest, distributionId: string): LocalResponse {
    this.distribution(distributionId);
    const newestFirst = [...(this.state.invalidations.get(distributionId) ?? [])].reverse();
    const marker = ctx.url.searchParams.get('Marker');
    const maxItems = Number(ctx.url.searchParams.get('MaxItems') ?? 100);
    const start = marker ? newestFirst.findIndex((i) => i.id === marker) + 1 : 0;
    const page = newestFirst.slice(start, start + maxItems);
    const truncated = start + maxItems < newestFirst.length;
    const items = page
      .map(
        (i) =>
          `<InvalidationSummary>${el('Id', i.id)}${el('CreateTime', i.createTime)}${el('Status', this.state.invalidationStatus(i))}</InvalidationSummary>`,
      )
      .join('');
    return xml(
      200,
      `<InvalidationList xmlns="${CLOUDFRONT_NS}">${el('Marker', marker ?? '')}${truncated ? el('NextMarker', page[page.length - 1].id) : ''}${el('MaxItems', maxItems)}${el('IsTruncated', truncated)}${el('Quantity', page.length)}${page.length ? `<Items>${items}</Items>` : ''}</InvalidationList>`,
    );
  }

  private createFunction(ctx: LocalRequest): LocalResponse {
    const request = parseXml(ctx.body.toString('utf8')).CreateFunctionRequest;
    const name = String(request?.Name ?? '');
    if (!/^[a-zA-Z0-9-_]{1,64}$/.test(name))
      throw new AwsError(
        400,
        'InvalidArgument',
        `Function name ${name} is not valid: use 1 to 64 letters, digits, - and _.`,
      );
    if (this.state.functions.has(name))
      throw new AwsError(409, 'FunctionAlreadyExists', `A function with the name ${name} already exists.`);
    const now = new Date().toISOString();
    const fn: CloudFrontFunction = {
      name,
      arn: `arn:aws:cloudfront::${ACCOUNT}:function/${name}`,
      comment: String(request.FunctionConfig?.Comment ?? ''),
      runtime: String(request.FunctionConfig?.Runtime ?? 'cloudfront-js-2.0'),
      code: Buffer.from(String(request.FunctionCode ?? ''), 'base64').toString('utf8'),
      stage: 'DEVELOPMENT',
      etag: cloudFrontId('E'),
      created: now,
      lastModified: now,
      keyValueStores: [],
    };
    fn.keyValueStores = this.associatedStores(request.FunctionConfig);
    this.state.functions.set(name, fn);
    this.options.onChange();
    return xml(201, functionSummary(fn), {
      ETag: fn.etag,
      Location: `https://cloudfront.amazonaws.com${CLOUDFRONT_API}/function/${name}`,
    });
  }

  /** The key value stores a FunctionConfig associates, each checked: at most one, as CloudFront allows. */
  private associatedStores(config: any): string[] {
    const associations: { KeyValueStoreARN?: unknown }[] =
      config?.KeyValueStoreAssociations?.Items?.KeyValueStoreAssociation ?? [];
    const arns = [associations].flat().map(({ KeyValueStoreARN }) => String(KeyValueStoreARN ?? ''));
    for (const arn of arns)
      if (!this.state.keyValueStoreByArn(arn))
        throw new AwsError(404, 'EntityNotFound', `The key value store ${arn} does not exist.`);
    if (arns.length > 1)
      throw new AwsError(400, 'InvalidArgument', 'A function can be associated with at most one key value store.');
    return arns;
  }

  /**
   * New code and configuration for a function (If-Match its ETag), in its DEVELOPMENT stage. The local edge runs
   * a function's one code, so the LIVE stage has it at once too, where CloudFront waits for PublishFunction.
   */
  private updateFunction(ctx: LocalRequest, name: string): LocalResponse {
    const fn = this.state.functions.get(name);
    if (!fn) throw new AwsError(404, 'NoSuchFunctionExists', `The function ${name} does not exist.`);
    if (header(ctx.req, 'if-match') !== fn.etag)
      throw new AwsError(412, 'PreconditionFailed', 'The If-Match version is missing or not valid for the function.');
    const request = parseXml(ctx.body.toString('utf8')).UpdateFunctionRequest;
    fn.keyValueStores = this.associatedStores(request.FunctionConfig);
    fn.comment = String(request.FunctionConfig?.Comment ?? '');
    fn.runtime = String(request.FunctionConfig?.Runtime ?? fn.runtime);
    fn.code = Buffer.from(String(request.FunctionCode ?? ''), 'base64').toString('utf8');
    fn.stage = 'DEVELOPMENT';
    fn.etag = cloudFrontId('E');
    fn.lastModified = new Date().toISOString();
    this.options.onChange();
    return xml(200, functionSummary(fn), { ETag: fn.etag });
  }

  private publishFunction(ctx: LocalRequest, name: string): LocalResponse {
    const fn = this.state.functions.get(name);
    if (!fn) throw new AwsError(404, 'NoSuchFunctionExists', `The function ${name} does not exist.`);
    if (header(ctx.req, 'if-match') !== fn.etag)
      throw new AwsError(412, 'PreconditionFailed', 'The If-Match version is missing or not valid for the function.');
    fn.stage = 'LIVE';
    fn.lastModified = new Date().toISOString();
    this.options.onChange();
    return xml(200, functionSummary(fn));
  }

  private createKeyValueStore(ctx: LocalRequest): LocalResponse {
    const request = parseXml(ctx.body.toString('utf8')).CreateKeyValueStoreRequest;
    const name = String(request?.Name ?? '');
    if (!/^[a-zA-Z0-9-_]{1,64}$/.test(name))
      throw new AwsError(
        400,
        'InvalidArgument',
        `Key value store name ${name} is not valid: use 1 to 64 letters, digits, - and _.`,
      );
    if (this.state.keyValueStores.has(name))
      throw new AwsError(409, 'EntityAlreadyExists', `A key value store with the name ${name} already exists.`);
    const id = randomUUID();
    const now = new Date().toISOString();
    const store: KeyValueStore = {
      name,
      id,
      arn: `arn:aws:cloudfront::${ACCOUNT}:key-value-store/${id}`,
      comment: String(request.Comment ?? ''),
      created: now,
      lastModified: now,
      etag: cloudFrontId('E'),
      version: randomUUID(),
      items: {},
      writes: {},
    };
    this.state.keyValueStores.set(name, store);
    this.options.onChange();
    return xml(201, keyValueStoreXml(store), {
      ETag: store.etag,
      Location: `https://cloudfront.amazonaws.com${CLOUDFRONT_API}/key-value-store/${store.arn}`,
    });
  }

  private keyValueStore(name: string): KeyValueStore {
    const store = this.state.keyValueStores.get(name);
    if (!store) throw new AwsError(404, 'EntityNotFound', `The key value store ${name} does not exist.`);
    return store;
  }

  private listKeyValueStores(): LocalResponse {
    const items = [...this.state.keyValueStores.values()].map(keyValueStoreXml);
    return xml(
      200,
      `<KeyValueStoreList xmlns="${CLOUDFRONT_NS}"><NextMarker></NextMarker><MaxItems>100</MaxItems>${el('Quantity', items.length)}${items.length ? `<Items>${items.join('')}</Items>` : ''}</KeyValueStoreList>`,
    );
  }

  private describeKeyValueStore(name: string): LocalResponse {
    const store = this.keyValueStore(name);
    return xml(200, keyValueStoreXml(store), { ETag: store.etag });
  }

  private deleteKeyValueStore(ctx: LocalRequest, name: string): LocalResponse {
    const store = this.keyValueStore(name);
    if (header(ctx.req, 'if-match') !== store.etag)
      throw new AwsError(412, 'PreconditionFailed', 'The If-Match version is missing or not valid for the resource.');
    const user = [...this.state.functions.values()].find((f) => f.keyValueStores.includes(store.arn));
    if (user)
      throw new AwsError(
        409,
        'CannotDeleteEntityWhileInUse',
        `The key value store is associated with function ${user.name}.`,
      );
    this.state.keyValueStores.delete(name);
    this.options.onChange();
    return { status: 204, headers: {} };
  }

  private describeFunction(name: string): LocalResponse {
    const fn = this.state.functions.get(name);
    if (!fn) throw new AwsError(404, 'NoSuchFunctionExists', `The function ${name} does not exist.`);
    return xml(200, functionSummary(fn), { ETag: fn.etag });
  }
}

function functionSummary(fn: CloudFrontFunction): string {
  const stores = fn.keyValueStores.map(
    (arn) => `<KeyValueStoreAssociation>${el('KeyValueStoreARN', arn)}</KeyValueStoreAssociation>`,
  );
  const associations = stores.length
    ? `<KeyValueStoreAssociations>${el('Quantity', stores.length)}<Items>${stores.join('')}</Items></KeyValueStoreAssociations>`
    : '';
  return `<FunctionSummary xmlns="${CLOUDFRONT_NS}">${el('Name', fn.name)}${el('Status', fn.stage === 'LIVE' ? 'DEPLOYED' : 'UNPUBLISHED')}<FunctionConfig>${el('Comment', fn.comment)}${el('Runtime', fn.runtime)}${associations}</FunctionConfig><FunctionMetadata>${el('FunctionARN', fn.arn)}${el('Stage', fn.stage)}${el('CreatedTime', fn.created)}${el('LastModifiedTime', fn.lastModified)}</FunctionMetadata></FunctionSummary>`;
}

function keyValueStoreXml(store: KeyValueStore): string {
  return `<KeyValueStore xmlns="${CLOUDFRONT_NS}">${el('Name', store.name)}${el('Id', store.id)}${el('Comment', store.comment)}${el('ARN', store.arn)}<Status>READY</Status>${el('LastModifiedTime', store.lastModified)}</KeyValueStore>`;
}

function xml(status: number, body: string, headers: Record<string, string> = {}): LocalResponse {
  return { status, headers: { 'Content-Type': 'text/xml', ...headers }, body: xmlDocument(body) };
}
