import {
  formatFiles,
  getProjects,
  joinPathFragments,
  readNxJson,
  updateNxJson,
  writeJson,
  type Tree,
} from '@nx/devkit';
import { checkBucketName } from '../../lib/bucket/name';
import { DEPLOY_CONFIG_FILE, PLUGIN_NAME } from '../../plugins/deploy-targets';
import { UserError } from '../../lib/util/errors';
import { releasePinCode, releaseRouterCode } from '../pipeline/cloudfront-function/release-router';
import type { InitGeneratorSchema } from './schema';

/** `nx add nx-aws-deploy` / `nx g nx-aws-deploy:init`: idempotent; running it twice changes nothing. */
export async function initGenerator(tree: Tree, options: InitGeneratorSchema): Promise<void> {
  const nxJson = readNxJson(tree) ?? {};
  const registered = (nxJson.plugins ?? []).some((p) => (typeof p === 'string' ? p : p.plugin) === PLUGIN_NAME);
  if (!registered) {
    nxJson.plugins = [
      ...(nxJson.plugins ?? []),
      {
        plugin: PLUGIN_NAME,
        options: { deployTargetName: 'deploy', invalidateTargetName: 'invalidate', buildTargetName: 'build' },
      },
    ];
    updateNxJson(tree, nxJson);
  }
  if (options.project) {
    const project = getProjects(tree).get(options.project);
    if (!project)
      throw new UserError(`Project "${options.project}" does not exist in this workspace; see \`nx show projects\`.`);
    if (!options.bucket)
      throw new UserError(`--bucket is required with --project: the S3 bucket ${options.project} deploys to.`);
    checkBucketName(options.bucket, '--bucket');
    const atomic = releaseModeOf(options) === 'atomic';
    const config = {
      bucket: options.bucket,
      ...(options.prefix ? { prefix: options.prefix } : {}),
      ...(options.distributionId ? { distributionId: options.distributionId } : {}),
      ...(atomic ? { releaseMode: 'atomic', keyValueStoreArn: options.keyValueStoreArn } : {}),
    };
    writeJson(tree, joinPathFragments(project.root, DEPLOY_CONFIG_FILE), config);
    // A distribution managed elsewhere serves atomic releases once these are its viewer-request and
    // viewer-response functions.
    if (atomic) {
      const router = releaseRouterCode({ site: options.project, storybook: false, spa: true });
      tree.write(joinPathFragments(project.root, RELEASE_ROUTER_FILE), router);
      tree.write(joinPathFragments(project.root, RELEASE_PIN_FILE), releasePinCode(options.project));
    }
  }
  if (!options.skipFormat) await formatFiles(tree);
}

/** Where init writes the functions of an atomic project, for the user to attach to the distribution. */
export const RELEASE_ROUTER_FILE = 'cloudfront/release-router.js';
export const RELEASE_PIN_FILE = 'cloudfront/release-pin.js';

const KEY_VALUE_STORE_ARN = /^arn:aws[a-z-]*:cloudfront::\d{12}:key-value-store\/[A-Za-z0-9-]+$/;

/** Atomic when a KeyValueStore is given (the store is what makes a release live), in place otherwise. */
function releaseModeOf(options: InitGeneratorSchema): 'atomic' | 'in-place' {
  const mode = options.releaseMode ?? (options.keyValueStoreArn ? 'atomic' : 'in-place');
  if (mode !== 'atomic' && mode !== 'in-place')
    throw new UserError(`--releaseMode must be "atomic" or "in-place", not "${mode}".`);
  if (mode === 'in-place' && options.keyValueStoreArn)
    throw new UserError('--keyValueStoreArn is for --releaseMode=atomic; leave it out to deploy in place.');
  if (mode === 'atomic' && !KEY_VALUE_STORE_ARN.test(options.keyValueStoreArn ?? ''))
    throw new UserError(
      `--releaseMode=atomic needs --keyValueStoreArn, the ARN of the CloudFront KeyValueStore that makes a release live (arn:aws:cloudfront::<account>:key-value-store/<id>)${options.keyValueStoreArn ? `, not "${options.keyValueStoreArn}"` : ''}; \`nx g nx-aws-deploy:pipeline\` makes one.`,
    );
  return mode;
}

export default initGenerator;
