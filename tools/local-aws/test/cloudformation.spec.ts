import { CloudFrontClient, GetDistributionConfigCommand } from '@aws-sdk/client-cloudfront';
import { CodePipelineClient, GetPipelineCommand } from '@aws-sdk/client-codepipeline';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { deployStack, edgeGet, parseTemplate, startLocalAws, type LocalAwsHarness } from '../src';

const TEMPLATE = `
Parameters:
  Greeting:
    Type: String
    Default: hello
Resources:
  Site:
    Type: AWS::S3::Bucket
  Rewrite:
    Type: AWS::CloudFront::Function
    Properties:
      Name: !Sub '\${AWS::StackName}-rewrite'
      AutoPublish: true
      FunctionConfig: { Comment: test, Runtime: cloudfront-js-2.0 }
      FunctionCode: |
        function handler(event) { var r = event.request; if (r.uri === '/hi') r.uri = '/index.html'; return r; }
  Cdn:
    Type: AWS::CloudFront::Distribution
    Properties:
      DistributionConfig:
        Comment: !Sub '\${Greeting} from \${AWS::StackName}'
        Enabled: true
        DefaultRootObject: index.html
        Origins:
          - Id: site
            DomainName: !GetAtt Site.RegionalDomainName
            S3OriginConfig: { OriginAccessIdentity: '' }
        DefaultCacheBehavior:
          TargetOriginId: site
          ViewerProtocolPolicy: redirect-to-https
          FunctionAssociations:
            - EventType: viewer-request
              FunctionARN: !GetAtt Rewrite.FunctionARN
  Role:
    Type: AWS::IAM::Role
    Properties:
      Policies: [{ PolicyName: p, PolicyDocument: { Statement: [{ Effect: Allow, Action: s3:GetObject, Resource: !Sub '\${Site.Arn}/*' }] } }]
  Pipeline:
    Type: AWS::CodePipeline::Pipeline
    Properties:
      Name: !Ref AWS::StackName
      RoleArn: !GetAtt Role.Arn
      ArtifactStore: { Type: S3, Location: !Ref Site }
Outputs:
  Bucket:
    Value: !Ref Site
  Distribution:
    Value: !Ref Cdn
  Url:
    Value: !Sub 'https://\${Cdn.DomainName}/'
`;

let local: LocalAwsHarness;
beforeAll(async () => {
  local = await startLocalAws();
});
afterAll(() => local.stop());

describe('deployStack, the CloudFormation stand-in', () => {
  it('creates buckets, functions, distributions and pipelines with Ref, GetAtt and Sub resolved, and reuses them on a re-deploy', async () => {
    const stack = await deployStack({
      endpoint: local.aws.url,
      template: parseTemplate(TEMPLATE),
      stackName: 'web-dev',
      parameters: { Greeting: 'hi' },
    });
    expect(stack.outputs.Bucket).toBe('web-dev-site');
    expect(stack.outputs.Url).toBe(`https://${stack.outputs.Distribution.toLowerCase()}.cloudfront.localhost/`);
    expect(stack.notEmulated).toEqual([]);
    expect(stack.properties.Pipeline.RoleArn).toMatch(/^arn:aws:iam::000000000000:role\/web-dev-Role-[0-9A-F]{12}$/);
    expect(stack.properties.Role.Policies[0].PolicyDocument.Statement[0].Resource).toBe('arn:aws:s3:::web-dev-site/*');

    const cloudfront = new CloudFrontClient({});
    const config = (await cloudfront.send(new GetDistributionConfigCommand({ Id: stack.outputs.Distribution })))
      .DistributionConfig!;
    cloudfront.destroy();
    expect(config.Comment).toBe('hi from web-dev');
    const codepipeline = new CodePipelineClient({});
    expect(
      (await codepipeline.send(new GetPipelineCommand({ name: 'web-dev' }))).pipeline!.artifactStore!.location,
    ).toBe('web-dev-site');
    codepipeline.destroy();

    // The function runs at the edge: /hi is answered with index.html.
    const s3 = new S3Client({ forcePathStyle: true });
    await s3.send(
      new PutObjectCommand({
        Bucket: 'web-dev-site',
        Key: 'index.html',
        Body: '<h1>hi</h1>',
        ContentType: 'text/html',
      }),
    );
    s3.destroy();
    expect((await edgeGet(local.aws, stack.outputs.Distribution, '/hi')).body.toString()).toBe('<h1>hi</h1>');

    const again = await deployStack({
      endpoint: local.aws.url,
      template: parseTemplate(TEMPLATE),
      stackName: 'web-dev',
      parameters: { Greeting: 'hi' },
    });
    expect(again.outputs).toEqual(stack.outputs);
  });

  it('says which parameter has no value', async () => {
    await expect(
      deployStack({
        endpoint: local.aws.url,
        template: parseTemplate(TEMPLATE.replace('    Default: hello\n', '')),
        stackName: 'x',
      }),
    ).rejects.toThrow('Stack x: parameter Greeting has no value and no default.');
  });
});
