import {
  CloudFrontClient,
  CreateDistributionCommand,
  CreateKeyValueStoreCommand,
  CreateFunctionCommand,
  DescribeFunctionCommand,
  UpdateFunctionCommand,
  DescribeKeyValueStoreCommand,
  PublishFunctionCommand,
  type DistributionConfig,
} from '@aws-sdk/client-cloudfront';
import { CodePipelineClient, CreatePipelineCommand, type StageDeclaration } from '@aws-sdk/client-codepipeline';
import { CreateBucketCommand, PutBucketPolicyCommand, PutBucketVersioningCommand, S3Client } from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import { ACCOUNT } from '../errors';
import type { Template } from './template';

export interface StackResult {
  /** Physical ids by logical id, for the resources created here and placeholders for the rest. */
  resources: Record<string, string>;
  /** What Fn::GetAtt answers of each resource (Arn, Id, DomainName, …), by logical id. */
  attributes: Record<string, Record<string, string>>;
  outputs: Record<string, string>;
  /** The value of each parameter the stack was deployed with (given or default). */
  parameters: Record<string, string>;
  /** Every resource's properties with Ref, GetAtt and Sub resolved, e.g. a CodeBuild project's environment variables. */
  properties: Record<string, Record<string, any>>;
  /** Logical ids of resources the local AWS does not model (CodeBuild, Lambda, logs, OAC, ...). */
  notEmulated: string[];
}

/**
 * Values for the parameters of a stack of `nx g nx-aws-deploy:pipeline` that name what the local AWS does not
 * emulate (the CodeConnections connection, the repository, the previews' ACM certificate): any well-formed one does.
 */
export const NOT_EMULATED_PARAMETERS: Record<string, string> = {
  ConnectionArn: 'arn:aws:codeconnections:us-east-1:000000000000:connection/00000000-0000-0000-0000-000000000000',
  RepositoryId: 'local/nx-aws-deploy',
  PreviewCertificateArn: 'arn:aws:acm:us-east-1:000000000000:certificate/00000000-0000-0000-0000-000000000000',
};

/**
 * A CloudFormation stand-in for the local AWS: creates a template's S3 buckets (with their versioning), CloudFront Functions and
 * distributions and CodePipeline pipelines through the SDK against `endpoint`, resolving Ref, GetAtt and Sub as
 * CloudFormation would; other resources get placeholder ids. Deploying the same stack again reuses what exists,
 * so a demo restarted on the same data folder keeps its distribution.
 */
export async function deployStack(options: {
  endpoint: string;
  template: Template;
  stackName: string;
  parameters?: Record<string, string>;
}): Promise<StackResult> {
  const { template, stackName } = options;
  const region = 'us-east-1';
  const clientConfig = {
    endpoint: options.endpoint,
    region,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    forcePathStyle: true,
  };
  const s3 = new S3Client(clientConfig);
  const cloudfront = new CloudFrontClient(clientConfig);
  const codepipeline = new CodePipelineClient(clientConfig);
  const resolvedProperties: Record<string, Record<string, any>> = {};
  const notEmulated: string[] = [];
  const pseudo: Record<string, string> = {
    'AWS::StackName': stackName,
    'AWS::Region': region,
    'AWS::AccountId': ACCOUNT,
    'AWS::Partition': 'aws',
    'AWS::URLSuffix': 'amazonaws.com',
  };

  const parameter = (name: string) => {
    const value = options.parameters?.[name] ?? template.Parameters?.[name]?.Default;
    if (value === undefined) throw new Error(`Stack ${stackName}: parameter ${name} has no value and no default.`);
    return value;
  };
  const ref = async (name: string): Promise<string> =>
    pseudo[name] ?? (template.Parameters?.[name] ? parameter(name) : (await create(name)).id);
  const getAtt = async (name: string, attribute: string): Promise<string> => {
    const resource = await create(name);
    const value = resource.attributes[attribute];
    if (value === undefined) throw new Error(`Stack ${stackName}: ${name} has no attribute ${attribute} here.`);
    return value;
  };
  const resolve = async (node: any): Promise<any> => {
    if (Array.isArray(node)) return Promise.all(node.map(resolve));
    if (!node || typeof node !== 'object') return node;
    if ('Ref' in node) return ref(node.Ref);
    if ('Fn::GetAtt' in node) return getAtt(node['Fn::GetAtt'][0], node['Fn::GetAtt'][1]);
    if ('Fn::Sub' in node) {
      const [text, variables] = typeof node['Fn::Sub'] === 'string' ? [node['Fn::Sub'], {}] : node['Fn::Sub'];
      let result = '';
      let last = 0;
      for (const match of (text as string).matchAll(/\$\{([^!}][^}]*)\}/g)) {
        const [name, attribute] = match[1].startsWith('AWS::') ? [match[1]] : match[1].split('.');
        const value =
          name in variables
            ? await resolve(variables[name])
            : attribute
              ? await getAtt(name, attribute)
              : await ref(name);
        result += text.slice(last, match.index) + value;
        last = match.index! + match[0].length;
      }
      return result + text.slice(last);
    }
    const entries = await Promise.all(Object.entries(node).map(async ([k, v]) => [k, await resolve(v)] as const));
    return Object.fromEntries(entries);
  };

  /** Each resource is created once, however many others refer to it. */
  const created = new Map<string, Promise<{ id: string; attributes: Record<string, string> }>>();
  const create = (logicalId: string) => {
    if (!created.has(logicalId)) created.set(logicalId, createResource(logicalId));
    return created.get(logicalId)!;
  };
  const createResource = async (logicalId: string): Promise<{ id: string; attributes: Record<string, string> }> => {
    const resource = template.Resources[logicalId];
    if (!resource) throw new Error(`Stack ${stackName}: no resource or parameter named ${logicalId}.`);
    for (const dependency of [resource.DependsOn ?? []].flat()) await create(dependency);
    const properties = await resolve(resource.Properties ?? {});
    resolvedProperties[logicalId] = properties;
    let result: { id: string; attributes: Record<string, string> };
    switch (resource.Type) {
      case 'AWS::S3::Bucket': {
        const bucket = properties.BucketName ?? `${stackName}-${logicalId}`.toLowerCase().slice(0, 63);
        await s3.send(new CreateBucketCommand({ Bucket: bucket })).catch((error: Error) => {
          if (error.name !== 'BucketAlreadyOwnedByYou') throw error;
        });
        const versioning = properties.VersioningConfiguration?.Status;
        if (versioning)
          await s3.send(
            new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: versioning } }),
          );
        result = {
          id: bucket,
          attributes: {
            Arn: `arn:aws:s3:::${bucket}`,
            DomainName: `${bucket}.s3.amazonaws.com`,
            RegionalDomainName: `${bucket}.s3.${region}.amazonaws.com`,
          },
        };
        break;
      }
      case 'AWS::IAM::Role': {
        // Named as CloudFormation names a role (stack-LogicalId-SUFFIX, at most 64), the suffix stable across deploys.
        const suffix = createHash('sha256')
          .update(`${stackName}/${logicalId}`)
          .digest('hex')
          .slice(0, 12)
          .toUpperCase();
        const name = properties.RoleName ?? `${`${stackName}-${logicalId}`.slice(0, 51)}-${suffix}`;
        const arn = `arn:aws:iam::${ACCOUNT}:role${properties.Path ?? '/'}${name}`;
        const policies = (properties.Policies ?? []).map((p: { PolicyName: string; PolicyDocument: unknown }) => ({
          name: p.PolicyName,
          policy: p.PolicyDocument,
        }));
        const response = await fetch(`${options.endpoint}/_local/iam/roles`, {
          method: 'PUT',
          body: JSON.stringify({ name, arn, policies }),
        });
        if (!response.ok)
          throw new Error(`Stack ${stackName}: ${logicalId}: the local IAM answered ${response.status}.`);
        result = { id: name, attributes: { Arn: arn, RoleId: `AROA${suffix}` } };
        break;
      }
      case 'AWS::S3::BucketPolicy': {
        // The local edge honours it: what the distribution may read through Origin Access Control.
        await s3.send(
          new PutBucketPolicyCommand({ Bucket: properties.Bucket, Policy: JSON.stringify(properties.PolicyDocument) }),
        );
        result = { id: `${properties.Bucket}-policy`, attributes: {} };
        break;
      }
      case 'AWS::CloudFront::Function': {
        const name = properties.Name;
        let etag: string | undefined;
        try {
          etag = (
            await cloudfront.send(
              new CreateFunctionCommand({
                Name: name,
                FunctionConfig: toApiShape(properties.FunctionConfig),
                FunctionCode: Buffer.from(properties.FunctionCode),
              }),
            )
          ).ETag;
        } catch (error) {
          if ((error as Error).name !== 'FunctionAlreadyExists') throw error;
          // A stack update: the function's code and configuration as the template has them now.
          const { ETag } = await cloudfront.send(new DescribeFunctionCommand({ Name: name }));
          etag = (
            await cloudfront.send(
              new UpdateFunctionCommand({
                Name: name,
                IfMatch: ETag,
                FunctionConfig: toApiShape(properties.FunctionConfig),
                FunctionCode: Buffer.from(properties.FunctionCode),
              }),
            )
          ).ETag;
        }
        if (etag && properties.AutoPublish)
          await cloudfront.send(new PublishFunctionCommand({ Name: name, IfMatch: etag }));
        const described = await cloudfront.send(new DescribeFunctionCommand({ Name: name }));
        result = { id: name, attributes: { FunctionARN: described.FunctionSummary!.FunctionMetadata!.FunctionARN! } };
        break;
      }
      case 'AWS::CloudFront::KeyValueStore': {
        const name = properties.Name ?? `${stackName}-${logicalId}`;
        const existing = await cloudfront
          .send(new DescribeKeyValueStoreCommand({ Name: name }))
          .catch((error: Error) => {
            if (error.name !== 'EntityNotFound') throw error;
            return undefined;
          });
        const store =
          existing?.KeyValueStore ??
          (await cloudfront.send(new CreateKeyValueStoreCommand({ Name: name, Comment: properties.Comment })))
            .KeyValueStore!;
        result = { id: name, attributes: { Arn: store.ARN!, Id: store.Id!, Status: store.Status! } };
        break;
      }
      case 'AWS::CloudFront::Distribution': {
        const config = toApiShape({
          CallerReference: `${stackName}-${logicalId}`,
          ...properties.DistributionConfig,
        }) as DistributionConfig;
        let id: string;
        try {
          id = (await cloudfront.send(new CreateDistributionCommand({ DistributionConfig: config }))).Distribution!.Id!;
        } catch (error) {
          const existing = /Already exists: (\w+)/.exec((error as Error).message);
          if ((error as Error).name !== 'DistributionAlreadyExists' || !existing) throw error;
          id = existing[1];
        }
        result = { id, attributes: { Id: id, DomainName: `${id.toLowerCase()}.cloudfront.localhost` } };
        break;
      }
      case 'AWS::CodePipeline::Pipeline': {
        const name = properties.Name ?? `${stackName}-${logicalId}`;
        await codepipeline
          .send(
            new CreatePipelineCommand({
              pipeline: {
                name,
                roleArn: properties.RoleArn,
                artifactStore: { type: 'S3', location: properties.ArtifactStore.Location },
                // The stand-in starts a stage's actions as the pipeline role: it needs to know them.
                stages: camelKeys(properties.Stages ?? []) as StageDeclaration[],
                // Pull-request triggers: the stand-in starts the pipelines whose filters take an event.
                ...(properties.Triggers ? { triggers: camelKeys(properties.Triggers) } : {}),
              },
            }),
          )
          .catch((error: Error) => {
            if (!/already exists/.test(error.message)) throw error;
          });
        result = { id: name, attributes: {} };
        break;
      }
      default: {
        notEmulated.push(logicalId);
        const id = properties.Name ?? properties.FunctionName ?? properties.LogGroupName ?? `${stackName}-${logicalId}`;
        result = { id, attributes: { Arn: arnOf(resource.Type, id, region), Id: id, RoleId: id } };
      }
    }
    return result;
  };

  try {
    for (const logicalId of Object.keys(template.Resources)) await create(logicalId);
    const outputs: Record<string, string> = {};
    for (const [name, output] of Object.entries(template.Outputs ?? {}))
      outputs[name] = String(await resolve(output.Value));
    const made = await Promise.all(
      [...created].map(async ([logicalId, resource]) => [logicalId, await resource] as const),
    );
    const resources = Object.fromEntries(made.map(([logicalId, { id }]) => [logicalId, id]));
    const attributes = Object.fromEntries(made.map(([logicalId, r]) => [logicalId, r.attributes]));
    const parameters = Object.fromEntries(
      Object.entries(template.Parameters ?? {}).map(([name, p]) => [
        name,
        String(options.parameters?.[name] ?? p.Default),
      ]),
    );
    return { resources, attributes, outputs, parameters, properties: resolvedProperties, notEmulated };
  } finally {
    s3.destroy();
    cloudfront.destroy();
    codepipeline.destroy();
  }
}

/**
 * The ARN of a resource the local AWS does not emulate, as its service writes it: IAM policies of the template name
 * it (a CodeBuild project, a Lambda function, a log group) and the local IAM compares them.
 */
function arnOf(type: string, name: string, region: string): string {
  const [, service, kind] = type.split('::');
  switch (type) {
    case 'AWS::CodeBuild::Project':
      return `arn:aws:codebuild:${region}:${ACCOUNT}:project/${name}`;
    case 'AWS::Lambda::Function':
      return `arn:aws:lambda:${region}:${ACCOUNT}:function:${name}`;
    case 'AWS::Logs::LogGroup':
      return `arn:aws:logs:${region}:${ACCOUNT}:log-group:${name}:*`;
    default:
      return `arn:aws:${service.toLowerCase()}:${region}:${ACCOUNT}:${kind.toLowerCase()}/${name}`;
  }
}

/** A pipeline's Stages or Triggers as CloudFormation writes them (PascalCase), in the API's shape; configurations keep their keys. */
function camelKeys(node: any): any {
  return Array.isArray(node)
    ? node.map(camelKeys)
    : node && typeof node === 'object'
      ? Object.fromEntries(
          Object.entries(node).map(([k, v]) => [
            k[0].toLowerCase() + k.slice(1),
            k === 'Configuration' ? v : camelKeys(v),
          ]),
        )
      : node;
}

/** CloudFormation writes CloudFront lists as arrays; the API wants { Quantity, Items }. */
const API_LISTS = new Set([
  'Origins',
  'CustomErrorResponses',
  'FunctionAssociations',
  'Aliases',
  'CacheBehaviors',
  'LambdaFunctionAssociations',
  'KeyValueStoreAssociations',
]);
function toApiShape(node: any): any {
  if (Array.isArray(node)) return node.map(toApiShape);
  if (!node || typeof node !== 'object') return node;
  return Object.fromEntries(
    Object.entries(node).map(([k, v]) => [
      k,
      API_LISTS.has(k) && Array.isArray(v) ? { Quantity: v.length, Items: toApiShape(v) } : toApiShape(v),
    ]),
  );
}
