import { parse, type CollectionTag, type ScalarTag } from 'yaml';

/** A CloudFormation template as parsed: short-form intrinsic tags (!Ref, !GetAtt, !Sub, …) become their long form. */
export interface Template {
  Parameters?: Record<string, { Default?: string }>;
  Resources: Record<string, { Type: string; Properties?: Record<string, any>; DependsOn?: string | string[] }>;
  Outputs?: Record<string, { Value: unknown; Description?: string }>;
}

const INTRINSICS = [
  'Ref',
  'GetAtt',
  'Sub',
  'Join',
  'Select',
  'Split',
  'If',
  'Equals',
  'Not',
  'And',
  'Or',
  'FindInMap',
  'ImportValue',
  'GetAZs',
  'Base64',
  'Cidr',
];
const longForm = (name: string) => (name === 'Ref' ? 'Ref' : `Fn::${name}`);
const customTags: (ScalarTag | CollectionTag)[] = INTRINSICS.flatMap((name) => [
  {
    tag: `!${name}`,
    resolve: (value: string) => ({ [longForm(name)]: name === 'GetAtt' ? value.split('.') : value }),
  } as ScalarTag,
  { tag: `!${name}`, collection: 'seq', resolve: (seq: any) => ({ [longForm(name)]: seq.toJSON() }) } as CollectionTag,
]);

export function parseTemplate(text: string): Template {
  return parse(text, { customTags }) as Template;
}
