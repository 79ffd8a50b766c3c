import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { deployStack, NOT_EMULATED_PARAMETERS, parseTemplate, type StackResult, type Template } from 'local-aws';
import { repoRoot } from './workspace';

export { parseTemplate, type Template } from 'local-aws';

const PSEUDO_PARAMETERS = new Set([
  'AWS::AccountId',
  'AWS::Region',
  'AWS::StackName',
  'AWS::StackId',
  'AWS::Partition',
  'AWS::URLSuffix',
  'AWS::NoValue',
]);

/** Attributes each resource type of ours returns through Fn::GetAtt (from the CloudFormation resource reference). */
const ATTRIBUTES: Record<string, string[]> = {
  'AWS::S3::Bucket': ['Arn', 'DomainName', 'RegionalDomainName'],
  'AWS::CloudFront::OriginAccessControl': ['Id'],
  'AWS::CloudFront::Function': ['FunctionARN'],
  'AWS::CloudFront::KeyValueStore': ['Arn', 'Id', 'Status'],
  'AWS::CloudFront::Distribution': ['DomainName', 'Id'],
  'AWS::IAM::Role': ['Arn', 'RoleId'],
  'AWS::CodeBuild::Project': ['Arn'],
  'AWS::Lambda::Function': ['Arn'],
  'AWS::Logs::LogGroup': ['Arn'],
};

/** Every Ref, GetAtt, ${…} in Sub and DependsOn that names nothing in the template (or an attribute its type lacks). */
export function danglingReferences(template: Template): string[] {
  const problems: string[] = [];
  const parameters = new Set(Object.keys(template.Parameters ?? {}));
  const resources = template.Resources;
  const checkName = (name: string, where: string) => {
    if (!parameters.has(name) && !resources[name] && !PSEUDO_PARAMETERS.has(name))
      problems.push(`${where}: ${name} does not exist`);
  };
  const checkAttribute = (resource: string, attribute: string, where: string) => {
    const type = resources[resource]?.Type;
    if (!type) problems.push(`${where}: GetAtt ${resource}.${attribute}: no such resource`);
    else if (!ATTRIBUTES[type]?.includes(attribute)) problems.push(`${where}: ${type} has no attribute ${attribute}`);
  };
  const walk = (node: unknown, where: string): void => {
    if (Array.isArray(node)) return node.forEach((item, i) => walk(item, `${where}[${i}]`));
    if (!node || typeof node !== 'object') return;
    for (const [key, value] of Object.entries(node)) {
      if (key === 'Ref') checkName(value as string, where);
      else if (key === 'Fn::GetAtt') checkAttribute((value as string[])[0], (value as string[])[1], where);
      else if (key === 'Fn::Sub') {
        const [text, variables] =
          typeof value === 'string' ? [value, {}] : (value as [string, Record<string, unknown>]);
        for (const [, ref] of text.matchAll(/\$\{([^!}][^}]*)\}/g)) {
          if (ref in variables) continue;
          const [name, attribute] = ref.split('.');
          if (attribute && !name.startsWith('AWS::')) checkAttribute(name, attribute, where);
          else checkName(name, where);
        }
        walk(variables, where);
      } else walk(value, `${where}.${key}`);
    }
  };
  for (const [name, resource] of Object.entries(resources)) {
    for (const dependency of [resource.DependsOn ?? []].flat())
      if (!resources[dependency]) problems.push(`${name}.DependsOn: ${dependency} does not exist`);
    walk(resource.Properties, name);
  }
  walk(template.Outputs, 'Outputs');
  return problems;
}

export interface PolicyStatement {
  role: string;
  Sid?: string;
  Effect: string;
  Action: string[];
  Resource: unknown[];
}

/** The statements of every inline policy of every IAM role, actions and resources as lists. */
export function roleStatements(template: Template): PolicyStatement[] {
  return Object.entries(template.Resources)
    .filter(([, r]) => r.Type === 'AWS::IAM::Role')
    .flatMap(([role, r]) =>
      (r.Properties!.Policies ?? []).flatMap((policy: any) =>
        policy.PolicyDocument.Statement.map((s: any) => ({
          role,
          Sid: s.Sid,
          Effect: s.Effect,
          Action: [s.Action].flat(),
          Resource: [s.Resource].flat(),
        })),
      ),
    );
}

/** The resources a Sub/GetAtt/Ref value points at, e.g. `${SiteBucket.Arn}/*` → ['SiteBucket']. */
export function referencedNames(value: unknown): string[] {
  if (typeof value === 'string') return [];
  const node = value as Record<string, any>;
  if (node.Ref) return [node.Ref];
  if (node['Fn::GetAtt']) return [node['Fn::GetAtt'][0]];
  if (node['Fn::Sub'])
    return [...String(node['Fn::Sub']).matchAll(/\$\{([^}.]+)[^}]*\}/g)]
      .map((m) => m[1])
      .filter((n) => !n.startsWith('AWS::'));
  return [];
}

/**
 * A stack of `nx g nx-aws-deploy:pipeline` (a template file, by default this repository's own infra/sites-dev.yml,
 * or a template changed by a test) deployed to the local AWS; the source connection is not emulated, so any
 * well-formed one does.
 */
export function deployGeneratedStack(
  endpoint: string,
  stackName: string,
  template: string | Template = join(repoRoot, 'infra', 'sites-dev.yml'),
): Promise<StackResult> {
  return deployStack({
    endpoint,
    template: typeof template === 'string' ? parseTemplate(readFileSync(template, 'utf8')) : template,
    stackName,
    parameters: NOT_EMULATED_PARAMETERS,
  });
}
