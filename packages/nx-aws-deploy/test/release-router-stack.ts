import { deployStack, parseTemplate, type LocalAwsHarness, type StackResult } from 'local-aws';
import { stringify } from 'yaml';
import { releasePinCode, releaseRouterCode } from '../src/generators/pipeline/cloudfront-function/release-router';

/**
 * A bucket, a KeyValueStore, and per site a distribution whose viewer-request function is the release router for
 * it and whose viewer-response function its release pin (serving pull-request previews where asked), deployed to
 * the local AWS. Outputs: KeyValueStoreArn, and
 * <name>DistributionId per site.
 */
export function deployRouterStack(
  local: LocalAwsHarness,
  bucket: string,
  sites: { name: string; site: string; storybook: boolean; previews?: boolean }[],
): Promise<StackResult> {
  const resources: Record<string, unknown> = {
    Site: { Type: 'AWS::S3::Bucket', Properties: { BucketName: bucket } },
    Releases: { Type: 'AWS::CloudFront::KeyValueStore', Properties: { Name: `${bucket}-releases` } },
  };
  const outputs: Record<string, unknown> = { KeyValueStoreArn: { Value: { 'Fn::GetAtt': ['Releases', 'Arn'] } } };
  for (const { name, site, storybook, previews } of sites) {
    resources[`${name}Router`] = {
      Type: 'AWS::CloudFront::Function',
      Properties: {
        Name: `${bucket}-${name.toLowerCase()}`,
        AutoPublish: true,
        FunctionConfig: {
          Comment: 'release router',
          Runtime: 'cloudfront-js-2.0',
          KeyValueStoreAssociations: [{ KeyValueStoreARN: { 'Fn::GetAtt': ['Releases', 'Arn'] } }],
        },
        FunctionCode: releaseRouterCode({ site, storybook, spa: true, previews }),
      },
    };
    resources[`${name}Pin`] = {
      Type: 'AWS::CloudFront::Function',
      Properties: {
        Name: `${bucket}-${name.toLowerCase()}-pin`,
        AutoPublish: true,
        FunctionConfig: {
          Comment: 'release pin',
          Runtime: 'cloudfront-js-2.0',
          KeyValueStoreAssociations: [{ KeyValueStoreARN: { 'Fn::GetAtt': ['Releases', 'Arn'] } }],
        },
        FunctionCode: releasePinCode(site, previews),
      },
    };
    resources[`${name}Distribution`] = {
      Type: 'AWS::CloudFront::Distribution',
      Properties: {
        DistributionConfig: {
          Enabled: true,
          DefaultRootObject: 'index.html',
          Origins: [
            {
              Id: 's3',
              DomainName: { 'Fn::GetAtt': ['Site', 'RegionalDomainName'] },
              S3OriginConfig: { OriginAccessIdentity: '' },
            },
          ],
          DefaultCacheBehavior: {
            TargetOriginId: 's3',
            ViewerProtocolPolicy: 'redirect-to-https',
            FunctionAssociations: [
              { EventType: 'viewer-request', FunctionARN: { 'Fn::GetAtt': [`${name}Router`, 'FunctionARN'] } },
              { EventType: 'viewer-response', FunctionARN: { 'Fn::GetAtt': [`${name}Pin`, 'FunctionARN'] } },
            ],
          },
        },
      },
    };
    outputs[`${name}DistributionId`] = { Value: { Ref: `${name}Distribution` } };
  }
  return deployStack({
    endpoint: local.aws.url,
    template: parseTemplate(stringify({ Resources: resources, Outputs: outputs })),
    stackName: bucket,
  });
}
