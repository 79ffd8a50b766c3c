import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import { addProjectConfiguration, logger, readJson, readNxJson, type Tree } from '@nx/devkit';
import { parse } from 'yaml';
import { createTreeWithEmptyWorkspace } from 'nx/src/devkit-testing-exports';
import {
  danglingReferences,
  parseTemplate,
  referencedNames,
  roleStatements,
  type Template,
} from '../../../test/cloudformation';
import { repoRoot } from '../../../test/workspace';
import { BUILDSPEC_TEMPLATE_FILE, LAMBDA_ZIP_IN_NODE_MODULES, pipelineGenerator } from './generator';
import { releasePinCode, releaseRouterCode } from './cloudfront-function/release-router';
import type { PipelineGeneratorSchema } from './schema';
import { DEFAULT_KEEP_RELEASES } from '../../lib/releases/history';
import { tempDir } from 'test-support';

let tree: Tree;
beforeEach(() => {
  tree = createTreeWithEmptyWorkspace();
  addProjectConfiguration(tree, 'frontend', {
    root: 'apps/frontend',
    targets: { build: { command: 'vite build', outputs: ['{workspaceRoot}/dist/apps/frontend'] } },
  });
  addProjectConfiguration(tree, 'backend', { root: 'apps/backend', targets: {} });
});

/** Two projects that deploy (one by its deploy-s3 target, one by its inferred one), for --batch. */
function addDeployableProjects(): void {
  if (tree.exists('apps/docs/project.json')) return;
  addProjectConfiguration(tree, 'docs', {
    root: 'apps/docs',
    targets: { build: { command: 'vite build' }, deploy: { executor: 'nx-aws-deploy:deploy-s3', options: {} } },
  });
  tree.write('apps/frontend/nx-aws-deploy.json', '{}');
}

async function generate(options: Partial<PipelineGeneratorSchema> = {}): Promise<{ text: string; template: Template }> {
  if (options.batch) addDeployableProjects();
  await pipelineGenerator(tree, { ...(options.batch ? {} : { project: 'frontend' }), skipFormat: true, ...options });
  const name = options.batch ? (options.project ?? 'sites') : 'frontend';
  const text = tree.read(`${options.directory ?? 'infra'}/${name}-${options.environment ?? 'prod'}.yml`, 'utf8')!;
  return { text, template: parseTemplate(text) };
}

const VARIANTS: Partial<PipelineGeneratorSchema>[] = [
  {},
  { environment: 'dev' },
  {
    environment: 'staging-eu',
    bucket: 'acme-frontend-staging',
    spaFallback: false,
    repository: 'acme/web',
    branch: 'release',
    connectionArn: 'arn:aws:codeconnections:eu-west-1:123456789012:connection/0a1b2c3d-aaaa-bbbb-cccc-0123456789ab',
  },
  { environment: 'staging', promoteTo: 'prod' },
  { environment: 'staging', promoteTo: 'prod', releaseMode: 'in-place' },
  { previewDomain: 'previews.example.com' },
  { batch: true, environment: 'prod' },
  { batch: true, environment: 'prod', previewDomain: 'previews.example.com' },
];

describe('pipeline generator', () => {
  it('writes the affected-driven buildspec.yml (the same phases with and without --batch) and the template', async () => {
    await generate();
    const standard = tree.read('buildspec.yml', 'utf8')!;
    expect(standard).toBe(readFileSync(BUILDSPEC_TEMPLATE_FILE, 'utf8'));
    expect(tree.exists('infra/frontend-prod.yml')).toBe(true);
  });

  // This repository ships its two apps (frontend, docs) with a --batch pipeline: `npm start` deploys its dev
  // template to the local AWS, and its buildspec's build list is what nx sync keeps for them.
  // UPDATE_INFRA=1 rewrites both files after a change to the templates.
  it("the repository's own buildspec.yml and infra/sites-dev.yml are what `--batch --environment=dev --previewDomain=previews.example.com` writes for its apps", async () => {
    const { text } = await generate({ batch: true, environment: 'dev', previewDomain: 'previews.example.com' });
    for (const [file, generated] of [
      ['buildspec.yml', tree.read('buildspec.yml', 'utf8')!],
      ['infra/sites-dev.yml', text],
    ]) {
      const committed = join(repoRoot, file);
      if (process.env.UPDATE_INFRA === '1') writeFileSync(committed, generated);
      expect([file, readFileSync(committed, 'utf8')]).toEqual([file, generated]);
    }
  });

  it.each(VARIANTS)(
    '%j: every Ref, GetAtt, Sub variable and DependsOn names something in the template',
    async (options) => {
      const { template } = await generate(options);
      expect(danglingReferences(template)).toEqual([]);
    },
  );

  it.each(VARIANTS)(
    '%j: IAM is least privilege, and the only "*" is PutJob*, with the comment that says why',
    async (options) => {
      const { text, template } = await generate(options);
      const statements = roleStatements(template);
      expect(statements.length).toBeGreaterThan(10);
      for (const s of statements) {
        expect(s.Effect).toBe('Allow');
        expect(s.Action.filter((a) => a.includes('*'))).toEqual([]);
        if (s.Resource.includes('*'))
          expect([s.role, s.Action]).toEqual([
            'InvalidateRole',
            ['codepipeline:PutJobSuccessResult', 'codepipeline:PutJobFailureResult'],
          ]);
        // Otherwise scoped to this stack: every resource is built from its names, with "*" only for the keys below one path.
        else
          for (const resource of s.Resource)
            expect(String((resource as any)['Fn::Sub'] ?? '').replace(/\/\*$/, '')).not.toContain('*');
        if (!s.Resource.includes('*')) expect(s.Resource.every((resource) => typeof resource === 'object')).toBe(true);
      }
      expect(text).toMatch(
        /# PutJobSuccessResult and PutJobFailureResult support no resource-level permissions: IAM\n\s+# accepts only "\*"/,
      );

      const resourcesOf = (role: string, action: string) =>
        statements
          .filter((s) => s.role === role && s.Action.includes(action))
          .flatMap((s) => s.Resource.flatMap(referencedNames));
      // The build writes and deletes only in the site buckets (and hands its artifact to the pipeline's store).
      const sites = options.batch ? ['DocsSiteBucket', 'FrontendSiteBucket'] : ['SiteBucket'];
      const projects = options.batch ? ['docs', 'frontend'] : ['frontend'];
      expect(resourcesOf('BuildRole', 's3:DeleteObject').sort()).toEqual(sites);
      expect(resourcesOf('BuildRole', 's3:PutObject').sort()).toEqual(['ArtifactBucket', ...sites]);
      // A rollback copies pages back from their versions (the site buckets are versioned).
      expect(resourcesOf('BuildRole', 's3:GetObjectVersion').sort()).toEqual(['ArtifactBucket', ...sites]);
      // …and checks more than 20 of them with one listing of the bucket's versions.
      expect(resourcesOf('BuildRole', 's3:ListBucketVersions').sort()).toEqual(sites);
      // Nothing the product never calls (lib-storage completes or aborts; it never lists parts).
      expect(statements.flatMap((s) => s.Action)).not.toContain('s3:ListMultipartUploadParts');
      // CodePipeline starts a build action with BatchEnabled as a batch, and follows the batch, not its builds.
      const pipelineBuild = statements.find((s) => s.role === 'PipelineRole' && s.Sid === 'Build')!.Action;
      expect(pipelineBuild.sort()).toEqual(
        options.batch
          ? ['codebuild:BatchGetBuildBatches', 'codebuild:StartBuildBatch']
          : ['codebuild:BatchGetBuilds', 'codebuild:StartBuild'],
      );
      if (options.promoteTo) {
        // Promote never waits for its invalidation; it checks staging's versions with one listing.
        expect(statements.filter((s) => s.role === 'PromoteRole').flatMap((s) => s.Action)).not.toContain(
          'cloudfront:GetInvalidation',
        );
        expect(resourcesOf('PromoteRole', 's3:ListBucketVersions')).toEqual(['SiteBucket']);
      }
      expect(statements.find((s) => s.Sid === 'BuildParameters')!.Resource).toEqual(
        projects.map((project) => ({
          'Fn::Sub': `arn:\${AWS::Partition}:ssm:\${AWS::Region}:\${AWS::AccountId}:parameter/${project}/${options.environment ?? 'prod'}/*`,
        })),
      );
      expect(resourcesOf('BuildRole', 'codepipeline:ListPipelineExecutions')).toEqual([]); // the pipeline's own ARN, by name
      expect(statements.find((s) => s.Sid === 'LastSuccessfulDeploy')!.Resource).toEqual([
        { 'Fn::Sub': 'arn:${AWS::Partition}:codepipeline:${AWS::Region}:${AWS::AccountId}:${AWS::StackName}' },
      ]);
      // The Lambda invalidates only this distribution and touches no bucket.
      expect(
        statements.find((s) => s.role === 'InvalidateRole' && s.Action.includes('cloudfront:CreateInvalidation')),
      ).toMatchObject({
        role: 'InvalidateRole',
        Action: ['cloudfront:CreateInvalidation', 'cloudfront:GetInvalidation', 'cloudfront:GetDistributionConfig'],
        Resource: (options.batch ? ['DocsDistribution', 'FrontendDistribution'] : ['Distribution']).map((d) => ({
          'Fn::Sub': `arn:\${AWS::Partition}:cloudfront::\${AWS::AccountId}:distribution/\${${d}}`,
        })),
      });
      // With previews, it publishes and removes them: their folders only (the listing by prefix), no site file.
      const lambdaS3 = statements.filter(
        (s) => s.role === 'InvalidateRole' && s.Action.some((a) => a.startsWith('s3:')),
      );
      const previews = Boolean(options.previewDomain);
      const previewFolders = sites.map((bucket) => ({ 'Fn::Sub': `\${${bucket}.Arn}/_previews/*` }));
      const bucketArns = sites.map((bucket) => ({ 'Fn::GetAtt': [bucket, 'Arn'] }));
      expect(lambdaS3.map((s) => [s.Sid, s.Resource])).toEqual(
        previews
          ? [
              ['ListPreviews', bucketArns],
              ['PreviewObjects', previewFolders],
            ]
          : [],
      );
      if (!previews) return;
      // The preview build runs the pull request's code: it writes only the previews' folders and reads the store.
      const previewBuild = statements.filter((s) => s.role === 'PreviewBuildRole');
      for (const action of ['s3:PutObject', 's3:DeleteObject', 's3:GetObject'])
        expect(
          previewBuild.filter((s) => s.Action.includes(action) && s.Sid !== 'PipelineArtifacts').map((s) => s.Resource),
        ).toEqual([previewFolders]);
      expect(previewBuild.flatMap((s) => s.Action).filter((a) => a.startsWith('cloudfront-keyvaluestore:'))).toEqual([
        'cloudfront-keyvaluestore:GetKey',
      ]);
      for (const role of ['PreviewBuildRole', 'InvalidateRole']) {
        const listing = (template.Resources[role].Properties!.Policies[0].PolicyDocument.Statement as any[]).find(
          (st) => st.Sid === 'ListPreviews',
        );
        expect([role, listing.Condition]).toEqual([role, { StringLike: { 's3:prefix': '_previews/*' } }]);
      }
    },
  );

  it('keeps the bucket private: Block Public Access, and reads only by this distribution through Origin Access Control', async () => {
    const { template } = await generate();
    const r = template.Resources;
    expect(r.SiteBucket.Properties!.PublicAccessBlockConfiguration).toEqual({
      BlockPublicAcls: true,
      BlockPublicPolicy: true,
      IgnorePublicAcls: true,
      RestrictPublicBuckets: true,
    });
    // Versioned, with enough noncurrent versions of each page kept for a rollback to any release deploy-s3 keeps.
    expect(r.SiteBucket.Properties!.VersioningConfiguration).toEqual({ Status: 'Enabled' });
    expect(r.SiteBucket.Properties!.LifecycleConfiguration.Rules[0].NoncurrentVersionExpiration).toEqual({
      NoncurrentDays: 30,
      NewerNoncurrentVersions: DEFAULT_KEEP_RELEASES,
    });
    const [read, bookkeeping] = r.SiteBucketPolicy.Properties!.PolicyDocument.Statement;
    // The deploy's bookkeeping (below the root and below any prefix) is denied to the distribution.
    expect(bookkeeping).toEqual({
      Sid: 'DeployBookkeepingIsPrivate',
      Effect: 'Deny',
      Principal: { Service: 'cloudfront.amazonaws.com' },
      Action: 's3:GetObject',
      Resource: [
        { 'Fn::Sub': '${SiteBucket.Arn}/.nx-aws-deploy/*' },
        { 'Fn::Sub': '${SiteBucket.Arn}/*/.nx-aws-deploy/*' },
      ],
    });
    expect(read).toMatchObject({
      Effect: 'Allow',
      Principal: { Service: 'cloudfront.amazonaws.com' },
      Action: 's3:GetObject',
    });
    expect(read.Condition.StringEquals['AWS:SourceArn']).toEqual({
      'Fn::Sub': 'arn:${AWS::Partition}:cloudfront::${AWS::AccountId}:distribution/${Distribution}',
    });
    const config = r.Distribution.Properties!.DistributionConfig;
    expect(config.DefaultRootObject).toBe('index.html');
    expect(config.Origins[0]).toMatchObject({
      DomainName: { 'Fn::GetAtt': ['SiteBucket', 'RegionalDomainName'] },
      OriginAccessControlId: { 'Fn::GetAtt': ['OriginAccessControl', 'Id'] },
    });
    expect(config.CustomErrorResponses).toBeUndefined();
  });

  it('builds a pipeline source (full clone) → affected deploy → invalidation of this distribution', async () => {
    const { template } = await generate({ repository: 'acme/web' });
    const r = template.Resources;
    const stages = r.Pipeline.Properties!.Stages;
    expect(stages.map((s: any) => s.Name)).toEqual(['Source', 'Build', 'Invalidate']);
    expect(stages[0].Actions[0].Configuration).toMatchObject({
      ConnectionArn: { Ref: 'ConnectionArn' },
      FullRepositoryId: { Ref: 'RepositoryId' },
      OutputArtifactFormat: 'CODEBUILD_CLONE_REF',
    });
    expect(stages[1].Actions[0].Configuration.ProjectName).toEqual({ Ref: 'BuildProject' });
    // The execution is recorded in each release the build makes.
    expect(JSON.parse(stages[1].Actions[0].Configuration.EnvironmentVariables)).toEqual([
      { name: 'CODEPIPELINE_EXECUTION_ID', value: '#{codepipeline.PipelineExecutionId}', type: 'PLAINTEXT' },
    ]);
    expect(stages[2].Actions[0]).toMatchObject({
      ActionTypeId: { Category: 'Invoke', Provider: 'Lambda' },
      InputArtifacts: stages[1].Actions[0].OutputArtifacts,
    });
    const userParameters = stages[2].Actions[0].Configuration.UserParameters['Fn::Sub'].replace(
      '${Distribution}',
      'E123EXAMPLE',
    );
    expect(JSON.parse(userParameters)).toEqual({ distributionId: 'E123EXAMPLE' });
    expect(r.BuildProject.Properties!.Environment.EnvironmentVariables).toEqual([
      { Name: 'SITE_BUCKET', Value: { Ref: 'SiteBucket' } },
      { Name: 'DISTRIBUTION_ID', Value: { Ref: 'Distribution' } },
      { Name: 'DEPLOY_PROJECTS', Value: 'frontend' },
      { Name: 'KEY_VALUE_STORE_ARN', Value: { 'Fn::GetAtt': ['ReleaseStore', 'Arn'] } },
    ]);
    expect(r.InvalidateFunction.Properties).toMatchObject({ Runtime: 'nodejs22.x', Handler: 'index.handler' });
    expect(template.Parameters).toMatchObject({
      RepositoryId: { Default: 'acme/web' },
      BranchName: { Default: 'main' },
    });
  });

  it('--promoteTo: a second site, then a manual approval and a promote action that may only read staging and write prod', async () => {
    const { template } = await generate({ environment: 'staging', promoteTo: 'prod' });
    const r = template.Resources;
    const stages = r.Pipeline.Properties!.Stages;
    expect(stages.map((s: any) => s.Name)).toEqual(['Source', 'Build', 'Invalidate', 'Approve', 'Promote']);
    expect(stages[3].Actions[0].ActionTypeId).toEqual({
      Category: 'Approval',
      Owner: 'AWS',
      Provider: 'Manual',
      Version: '1',
    });
    expect(stages[4].Actions[0]).toMatchObject({
      ActionTypeId: { Category: 'Build', Provider: 'CodeBuild' },
      Configuration: { ProjectName: { Ref: 'PromoteProject' } },
      InputArtifacts: [{ Name: 'SourceOutput' }],
    });
    // Prod's releases are atomic too: promote makes them live through its own key in the stack's store.
    expect(r.PromoteProject.Properties!.Environment.EnvironmentVariables).toEqual([
      { Name: 'FROM_BUCKET', Value: { Ref: 'SiteBucket' } },
      { Name: 'SITE_BUCKET', Value: { Ref: 'PromoteSiteBucket' } },
      { Name: 'KEY_VALUE_STORE_ARN', Value: { 'Fn::GetAtt': ['ReleaseStore', 'Arn'] } },
      { Name: 'SITE_KEY', Value: 'frontend-prod' },
    ]);
    expect(r.PromoteProject.Properties!.Source.BuildSpec).toContain(
      'node_modules/.bin/nx-aws-deploy promote --from-bucket "$FROM_BUCKET" --bucket "$SITE_BUCKET" --release-mode atomic --key-value-store-arn "$KEY_VALUE_STORE_ARN" --site "$SITE_KEY"',
    );
    expect(r.PromoteReleaseRouter.Properties!.FunctionCode).toBe(
      releaseRouterCode({ site: 'frontend-prod', storybook: false, spa: true }),
    );
    expect(r.PromoteDistribution.Properties!.DistributionConfig.CustomErrorResponses).toBeUndefined();
    // Prod is its own private site: read only by its own distribution, bookkeeping denied, versioned.
    expect(r.PromoteSiteBucket.Properties).toEqual(r.SiteBucket.Properties);
    expect(JSON.stringify(r.PromoteSiteBucketPolicy.Properties)).toBe(
      JSON.stringify(r.SiteBucketPolicy.Properties)
        .replaceAll('SiteBucket', 'PromoteSiteBucket')
        .replaceAll('${Distribution}', '${PromoteDistribution}'),
    );
    expect(r.PromoteDistribution.Properties!.DistributionConfig.Comment).toEqual({
      'Fn::Sub': 'frontend (prod), stack ${AWS::StackName}',
    });

    const statements = roleStatements(template);
    const resourcesOf = (role: string, action: string) =>
      statements
        .filter((s) => s.role === role && s.Action.includes(action))
        .flatMap((s) => s.Resource.flatMap(referencedNames))
        .sort();
    expect(resourcesOf('PromoteRole', 's3:PutObject')).toEqual(['PromoteSiteBucket']);
    expect(resourcesOf('PromoteRole', 's3:DeleteObject')).toEqual(['PromoteSiteBucket']);
    expect(resourcesOf('PromoteRole', 's3:GetObject')).toEqual(['ArtifactBucket', 'PromoteSiteBucket', 'SiteBucket']);
    expect(resourcesOf('PromoteRole', 's3:GetObjectVersion')).toEqual(['ArtifactBucket', 'SiteBucket']);
    expect(resourcesOf('PromoteRole', 'cloudfront-keyvaluestore:PutKey')).toEqual(['ReleaseStore']);
    expect(resourcesOf('PromoteRole', 'cloudfront:CreateInvalidation')).toEqual([]);
    // The staging build and the Lambda never touch prod.
    for (const role of ['BuildRole', 'InvalidateRole'])
      expect(statements.filter((s) => s.role === role).flatMap((s) => s.Resource.flatMap(referencedNames))).not.toEqual(
        expect.arrayContaining([expect.stringMatching(/^Promote/)]),
      );
    expect(resourcesOf('PipelineRole', 'codebuild:StartBuild')).toEqual(['BuildProject', 'PromoteProject']);
    expect(template.Outputs).toMatchObject({ PromoteBucketName: { Value: { Ref: 'PromoteSiteBucket' } } });
  });

  it('--batch: a build per project that deploys, each with its own site; the batch role may only run this project', async () => {
    const { template } = await generate({ batch: true });
    const r = template.Resources;
    const standard = parse(readFileSync(BUILDSPEC_TEMPLATE_FILE, 'utf8'));
    const buildspec = parse(tree.read('buildspec.yml', 'utf8')!);
    expect(buildspec.batch).toEqual({
      'fast-fail': false,
      'build-list': [
        { identifier: 'deploy_docs', env: { variables: { NX_AWS_DEPLOY_PROJECT: 'docs' } } },
        { identifier: 'deploy_frontend', env: { variables: { NX_AWS_DEPLOY_PROJECT: 'frontend' } } },
      ],
    });
    // The same phases as without --batch: each build finds its project's bucket by NX_AWS_DEPLOY_PROJECT.
    expect({ ...buildspec, batch: undefined }).toEqual({ ...standard, batch: undefined });
    expect(readNxJson(tree)!.sync?.globalGenerators).toEqual(['nx-aws-deploy:sync-batch']);

    expect(r.BuildProject.Properties!.BuildBatchConfig).toEqual({
      ServiceRole: { 'Fn::GetAtt': ['BatchRole', 'Arn'] },
      CombineArtifacts: true,
      TimeoutInMins: 60,
      Restrictions: { MaximumBuildsAllowed: 2, ComputeTypesAllowed: ['BUILD_GENERAL1_MEDIUM'] },
    });
    expect(r.BuildProject.Properties!.Cache).toEqual({
      Type: 'S3',
      Location: { 'Fn::Sub': '${ArtifactBucket}/build-cache' },
    });
    expect(r.BuildProject.Properties!.Environment.EnvironmentVariables).toEqual([
      { Name: 'SITE_BUCKET_DOCS', Value: { Ref: 'DocsSiteBucket' } },
      { Name: 'DISTRIBUTION_ID_DOCS', Value: { Ref: 'DocsDistribution' } },
      { Name: 'SITE_BUCKET_FRONTEND', Value: { Ref: 'FrontendSiteBucket' } },
      { Name: 'DISTRIBUTION_ID_FRONTEND', Value: { Ref: 'FrontendDistribution' } },
      { Name: 'KEY_VALUE_STORE_ARN', Value: { 'Fn::GetAtt': ['ReleaseStore', 'Arn'] } },
    ]);
    const batchStatements = roleStatements(template).filter((s) => s.role === 'BatchRole');
    expect(batchStatements).toEqual([
      expect.objectContaining({
        Action: ['codebuild:StartBuild', 'codebuild:StopBuild', 'codebuild:RetryBuild'],
        Resource: [
          {
            'Fn::Sub':
              'arn:${AWS::Partition}:codebuild:${AWS::Region}:${AWS::AccountId}:project/${AWS::StackName}-build',
          },
        ],
      }),
    ]);
    expect(r.BuildProject.Properties!.Name).toEqual({ 'Fn::Sub': '${AWS::StackName}-build' });
    const [, build, invalidate] = r.Pipeline.Properties!.Stages;
    expect(build.Actions[0].Configuration).toMatchObject({ BatchEnabled: 'true', CombineArtifacts: 'true' });
    expect(invalidate.Actions[0].Configuration.UserParameters).toBe('{}');
    expect(Object.keys(template.Outputs!)).toEqual(
      expect.arrayContaining(['DocsBucketName', 'DocsDistributionId', 'FrontendSiteUrl', 'PipelineName']),
    );
  });

  it.each([['infra'], ['deploy/aws']])(
    'points the Lambda code (directory %s) at the zip the package ships, relative to the template',
    async (directory) => {
      const { template } = await generate({ directory });
      const code = template.Resources.InvalidateFunction.Properties!.Code as string;
      expect(posix.normalize(posix.join(directory, code))).toBe(LAMBDA_ZIP_IN_NODE_MODULES);
    },
  );

  it("every site runs its release router on viewer-request, reading the stack's KeyValueStore; dev's serves Storybook too", async () => {
    for (const environment of ['dev', 'prod']) {
      const r = (await generate({ environment })).template.Resources;
      expect(r.ReleaseStore.Type).toBe('AWS::CloudFront::KeyValueStore');
      expect(r.ReleaseRouter.Properties).toMatchObject({
        AutoPublish: true,
        FunctionConfig: {
          Runtime: 'cloudfront-js-2.0',
          KeyValueStoreAssociations: [{ KeyValueStoreARN: { 'Fn::GetAtt': ['ReleaseStore', 'Arn'] } }],
        },
      });
      expect(r.ReleaseRouter.Properties!.FunctionCode).toBe(
        releaseRouterCode({ site: 'frontend', storybook: environment === 'dev', spa: true }),
      );
      expect(r.Distribution.Properties!.DistributionConfig.DefaultCacheBehavior.FunctionAssociations).toEqual([
        { EventType: 'viewer-request', FunctionARN: { 'Fn::GetAtt': ['ReleaseRouter', 'FunctionARN'] } },
        { EventType: 'viewer-response', FunctionARN: { 'Fn::GetAtt': ['ReleasePin', 'FunctionARN'] } },
      ]);
      // The pin reads the same store: the release of the page a viewer got, in a cookie the router honours.
      expect(r.ReleasePin.Properties).toMatchObject({
        FunctionConfig: {
          Runtime: 'cloudfront-js-2.0',
          KeyValueStoreAssociations: [{ KeyValueStoreARN: { 'Fn::GetAtt': ['ReleaseStore', 'Arn'] } }],
        },
        FunctionCode: releasePinCode('frontend'),
      });
      // The router answers app routes itself: an error page would be fetched past it, at its own key.
      expect(r.Distribution.Properties!.DistributionConfig.CustomErrorResponses).toBeUndefined();
      const outputs = (await generate({ environment })).template.Outputs!;
      expect(outputs.DeployLocally.Value).toHaveProperty(
        'Fn::Sub',
        'npx nx run frontend:deploy --bucket=${SiteBucket} --release-mode=atomic --key-value-store-arn=${ReleaseStore.Arn}',
      );
      expect(outputs.ReleaseStoreArn.Value).toEqual({ 'Fn::GetAtt': ['ReleaseStore', 'Arn'] });
    }
  });

  it('--releaseMode=in-place: no store, files replaced and invalidated; the router only in dev, for Storybook and app routes', async () => {
    for (const environment of ['dev', 'prod']) {
      const { template, text } = await generate({ environment, releaseMode: 'in-place' });
      const r = template.Resources;
      expect(r.ReleaseStore).toBeUndefined();
      expect(text).not.toContain('KEY_VALUE_STORE_ARN');
      expect(text).not.toContain('cloudfront-keyvaluestore');
      expect(template.Outputs!.DeployLocally.Value).toHaveProperty('Fn::Sub', expect.stringContaining('--invalidate'));
      const config = r.Distribution.Properties!.DistributionConfig;
      if (environment === 'dev') {
        expect(r.ReleaseRouter.Properties!.FunctionConfig.KeyValueStoreAssociations).toBeUndefined();
        expect(config.DefaultCacheBehavior.FunctionAssociations).toHaveLength(1);
      } else {
        expect(r.ReleaseRouter).toBeUndefined();
        expect(config.CustomErrorResponses.map((e: any) => e.ResponsePagePath)).toEqual(['/index.html', '/index.html']);
      }
    }
    // Promoted to in place as well: invalidated, the SPA fallback as error responses.
    const promoted = (await generate({ environment: 'staging', promoteTo: 'prod', releaseMode: 'in-place' })).template;
    expect(promoted.Resources.PromoteProject.Properties!.Source.BuildSpec).toContain(
      'promote --from-bucket "$FROM_BUCKET" --bucket "$SITE_BUCKET" --distribution-id "$DISTRIBUTION_ID"',
    );
    expect(promoted.Resources.PromoteReleaseRouter).toBeUndefined();
    expect(promoted.Resources.PromoteDistribution.Properties!.DistributionConfig.CustomErrorResponses).toHaveLength(2);
    await expect(generate({ releaseMode: 'blue-green' as 'atomic' })).rejects.toThrow(
      '--releaseMode: "blue-green" must be "atomic" (the default) or "in-place".',
    );
  });

  it('without SPA fallback, missing paths stay errors; a chosen bucket name is used', async () => {
    const { template } = await generate({ spaFallback: false, bucket: 'acme-frontend-prod' });
    expect(template.Resources.ReleaseRouter.Properties!.FunctionCode).toBe(
      releaseRouterCode({ site: 'frontend', storybook: false, spa: false }),
    );
    expect(template.Resources.SiteBucket.Properties!.BucketName).toBe('acme-frontend-prod');
  });

  it('registers the plugin and gives the project the inferred deploy target; running it twice changes nothing', async () => {
    await generate({ environment: 'dev' });
    expect(readNxJson(tree)!.plugins).toEqual([expect.objectContaining({ plugin: 'nx-aws-deploy' })]);
    expect(readJson(tree, 'apps/frontend/nx-aws-deploy.json')).toEqual({});
    const once = tree.listChanges().map((c) => [c.path, c.content?.toString()]);
    await generate({ environment: 'dev' });
    expect(tree.listChanges().map((c) => [c.path, c.content?.toString()])).toEqual(once);
  });

  it("keeps the user's own buildspec.yml and deploy config, and says so", async () => {
    const warn = jest.spyOn(logger, 'warn').mockImplementation(() => undefined);
    tree.write('buildspec.yml', 'version: 0.2\n# mine\n');
    tree.write('apps/frontend/nx-aws-deploy.json', '{"bucket":"mine"}');
    await generate();
    expect(tree.read('buildspec.yml', 'utf8')).toBe('version: 0.2\n# mine\n');
    expect(readJson(tree, 'apps/frontend/nx-aws-deploy.json')).toEqual({ bucket: 'mine' });
    expect(warn).toHaveBeenCalledWith(expect.stringMatching(/^Kept your buildspec\.yml; the pipeline expects/));
    warn.mockRestore();
  });

  it('--batch again on its own buildspec (build list included) neither warns nor changes it', async () => {
    const warn = jest.spyOn(logger, 'warn').mockImplementation(() => undefined);
    await generate({ batch: true });
    const once = tree.read('buildspec.yml', 'utf8');
    await pipelineGenerator(tree, { batch: true, skipFormat: true });
    expect(tree.read('buildspec.yml', 'utf8')).toBe(once);
    expect(warn).not.toHaveBeenCalled();
    warn.mockRestore();
  });

  it('accepts a build target that an Nx plugin infers from vite.config.ts', async () => {
    addProjectConfiguration(tree, 'admin', { root: 'apps/admin', targets: {} });
    tree.write('apps/admin/vite.config.ts', 'export default {};');
    await pipelineGenerator(tree, { project: 'admin', skipFormat: true });
    expect(tree.exists('infra/admin-prod.yml')).toBe(true);
  });

  it.each<[Partial<PipelineGeneratorSchema>, RegExp]>([
    [{ project: 'nope' }, /--project: "nope" is not a project in this workspace/],
    [{ project: 'backend' }, /--project: "backend" has no build target/],
    [{ environment: 'Prod' }, /--environment: "Prod" must start with a lower-case letter/],
    [{ environment: 'my env' }, /--environment: "my env"/],
    [{ environment: '1dev' }, /--environment: "1dev"/],
    [{ environment: 'a-very-long-environment' }, /--environment: "a-very-long-environment"/],
    [{ bucket: 'Acme_Site' }, /"Acme_Site" is not a bucket name S3 accepts .*: fix --bucket\./],
    [{ bucket: '192.168.1.1' }, /"192\.168\.1\.1" is not a bucket name S3 accepts .*: fix --bucket\./],
    [{ repository: 'web' }, /--repository: "web" must be owner\/name/],
    [
      { connectionArn: 'arn:aws:iam::123456789012:role/x' },
      /--connectionArn: .* is not a CodeConnections connection ARN/,
    ],
    [{ branch: 'my branch' }, /--branch: "my branch" is not a git branch name/],
    [{ directory: '../outside' }, /--directory: "..\/outside" must be a folder inside the workspace/],
    [{ project: undefined }, /--project is required \(or --batch/],

    [{ promoteTo: 'prod' }, /--promoteTo: "prod" must be another environment than --environment \("prod"\)/],
    [{ environment: 'staging', promoteTo: 'Prod' }, /--promoteTo: "Prod" must be another environment/],
  ])('refuses %j with one error naming the option, and writes nothing', async (options, message) => {
    const before = tree.listChanges().length;
    await expect(generate(options)).rejects.toThrow(message);
    expect(tree.listChanges()).toHaveLength(before);
  });

  it.each<[Partial<PipelineGeneratorSchema>, RegExp]>([
    [{}, /--batch: no project deploys with nx-aws-deploy yet; give one a deploy-s3 target or an nx-aws-deploy\.json/],
    [{ promoteTo: 'staging' }, /--promoteTo works with one project/],
    [{ bucket: 'acme-site' }, /--bucket names one project's bucket/],
  ])('--batch refuses %j with one error, and writes nothing', async (options, message) => {
    const before = tree.listChanges().length;
    await expect(pipelineGenerator(tree, { batch: true, skipFormat: true, ...options })).rejects.toThrow(message);
    expect(tree.listChanges()).toHaveLength(before);
  });

  const cfnLint = (() => {
    try {
      return execFileSync('cfn-lint', ['--version'], { encoding: 'utf8' }).trim();
    } catch {
      return undefined;
    }
  })();
  // cfn-lint is a Python tool: present on this kind of machine, not installable where PyPI is out of reach;
  // the structural tests above run everywhere.
  // One run over every variant's template: cfn-lint's start-up costs seconds of CPU, a template a fraction of it.
  (cfnLint ? it : it.skip)(`every variant passes ${cfnLint ?? 'cfn-lint (not installed)'}`, async () => {
    const dir = tempDir('cfn-lint-');
    const files: string[] = [];
    for (const [i, options] of VARIANTS.entries()) {
      const { text } = await generate(options);
      files.push(join(dir, `variant-${i}-${JSON.stringify(options).replace(/[^a-z0-9]+/gi, '-')}.yml`));
      writeFileSync(files[i], text);
    }
    // W3002: a local Code path is what `aws cloudformation package` expects; it is the documented way to ship the zip.
    const lint = spawnSync('cfn-lint', ['--ignore-checks', 'W3002', '--', ...files], { encoding: 'utf8' });
    expect([lint.status, lint.stdout + lint.stderr]).toEqual([0, '']);
  });
});
