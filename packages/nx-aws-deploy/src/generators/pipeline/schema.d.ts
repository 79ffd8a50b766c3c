export interface PipelineGeneratorSchema {
  /** The frontend this pipeline ships; with `batch`, the name of the stack (default "sites"). */
  project?: string;
  /** One CodeBuild batch build per project that deploys, in parallel (kept in step by `nx sync`). */
  batch?: boolean;
  /** Environment name, part of the stack and resource names; `dev` serves Storybook under /storybook/. */
  environment?: string;
  /** A second environment whose site gets the tested bytes after a manual approval (`nx-aws-deploy promote`). */
  promoteTo?: string;
  /** Site bucket name; CloudFormation picks a unique one when unset. */
  bucket?: string;
  /** owner/name of the repository, as the CodeConnections source wants it. */
  repository?: string;
  /** Branch whose pushes deploy. */
  branch?: string;
  /** CodeConnections connection ARN (a template parameter; this sets its default). */
  connectionArn?: string;
  /** Answer unknown paths with /index.html (single-page apps). */
  spaFallback?: boolean;
  /** "atomic" (default): releases made live with one KeyValueStore write; "in-place": files replaced, then invalidated. */
  releaseMode?: 'atomic' | 'in-place';
  /**
   * Pull-request previews: a pipeline per pull-request event (opened or updated: deploy the affected apps as the
   * preview pr-<n>; closed: remove it), each app's preview at https://pr-<n>.<previewDomain>/ (with --batch,
   * pr-<n>.<app>.<previewDomain>). On by default where `previewDomain` is given; needs atomic releases.
   */
  previews?: boolean;
  /** The domain of the previews' hosts (the default of the PreviewDomain parameter). */
  previewDomain?: string;
  /** Folder for the infrastructure template, relative to the workspace root. */
  directory?: string;
  skipFormat?: boolean;
}
