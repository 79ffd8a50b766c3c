import { GetObjectCommand } from '@aws-sdk/client-s3';
import { unzipSync } from 'fflate';
import { createS3Client, parseManifest, UserError, type DeployManifest } from 'nx-aws-deploy/invalidate';
import { workClient } from './clients';

/** The parts of a CodePipeline job event this action reads. */
export interface CodePipelineJob {
  id: string;
  data: {
    actionConfiguration: { configuration: { UserParameters?: string } };
    inputArtifacts?: { name: string; location: { s3Location: { bucketName: string; objectKey: string } } }[];
    artifactCredentials?: { accessKeyId: string; secretAccessKey: string; sessionToken: string };
    continuationToken?: string;
  };
}

/**
 * The deploy manifests (`…/deploy-manifests/*.json`, written by deploy-s3) in the action's input artifacts (one per
 * build of a batch when CodePipeline combines them), fetched with the short-lived credentials CodePipeline gives the
 * job for them, each with where it was found.
 */
export async function readManifests(
  job: CodePipelineJob,
  requestTimeout?: number,
): Promise<{ manifest: DeployManifest; source: string }[]> {
  const artifacts = job.data.inputArtifacts ?? [];
  if (!artifacts.length) {
    throw new UserError(
      'The Invoke action has no input artifact and UserParameters gives no "paths": give the build output (with dist/deploy-manifests) as its input artifact, or list "paths".',
    );
  }
  const credentials = job.data.artifactCredentials;
  const s3 = createS3Client({ ...workClient(requestTimeout), credentials });
  try {
    const manifests: { manifest: DeployManifest; source: string }[] = [];
    let nothingDeployed = 0;
    for (const artifact of artifacts) {
      const { bucketName, objectKey } = artifact.location.s3Location;
      const object = await s3
        .send(new GetObjectCommand({ Bucket: bucketName, Key: objectKey }))
        .catch((error: Error) => {
          throw new UserError(
            `Could not read input artifact ${artifact.name} (s3://${bucketName}/${objectKey}): ${error.name}. Check the artifact store bucket and the pipeline role.`,
          );
        });
      const files = unzipSync(await object.Body!.transformToByteArray(), {
        filter: (f) => /(^|\/)deploy-manifests\/[^/]+$/.test(f.name),
      });
      for (const [name, data] of Object.entries(files)) {
        if (/(^|\/)deploy-manifests\/nothing-deployed$/.test(name)) {
          nothingDeployed++;
          continue;
        }
        if (!name.endsWith('.json')) continue;
        const source = `${name} in artifact ${artifact.name}`;
        manifests.push({ manifest: parseManifest(Buffer.from(data).toString('utf8'), source), source });
      }
    }
    // Every build said it shipped nothing (a backend-only push): nothing to invalidate, not a misconfiguration.
    if (!manifests.length && nothingDeployed) return [];
    if (!manifests.length) {
      throw new UserError(
        `No deploy manifest (dist/deploy-manifests/*.json) in the input artifact(s) ${artifacts.map((a) => a.name).join(', ')}: list them in the buildspec's artifacts, or give "paths".`,
      );
    }
    return manifests;
  } finally {
    s3.destroy();
  }
}
