import type { CloudFrontClient, CloudFrontServiceException } from '@aws-sdk/client-cloudfront';
import { deniedCaller, explainTimeout } from '../aws/clients';
import { cloudFrontSdk } from '../aws/cloudfront-client';
import { UserError } from '../util/errors';

export interface RetryPolicy {
  /** First pause after TooManyInvalidationsInProgress; doubles up to 15 s. */
  baseDelayMs: number;
  /** Give up retrying after this long. */
  giveUpAfterMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { baseDelayMs: 2000, giveUpAfterMs: 300_000 };

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The distribution side of invalidation: thin wrappers over CloudFront calls with one-line errors. */
export class CloudFrontTarget {
  constructor(
    private readonly cloudfront: CloudFrontClient,
    readonly distributionId: string,
  ) {}

  /** DefaultRootObject and the origin path of the default behavior's origin: what maps keys to URL paths. */
  async origin(): Promise<{ defaultRootObject: string; originPath: string }> {
    const { DistributionConfig } = await this.call('GetDistributionConfig', () =>
      this.cloudfront.send(new (cloudFrontSdk().GetDistributionConfigCommand)({ Id: this.distributionId })),
    );
    const targetId = DistributionConfig?.DefaultCacheBehavior?.TargetOriginId;
    const origin = DistributionConfig?.Origins?.Items?.find((o) => o.Id === targetId);
    return { defaultRootObject: DistributionConfig?.DefaultRootObject ?? '', originPath: origin?.OriginPath ?? '' };
  }

  /** Creates the invalidation, waiting out TooManyInvalidationsInProgress with backoff; same CallerReference → same invalidation. */
  async create(
    paths: string[],
    callerReference: string,
    retry: RetryPolicy = DEFAULT_RETRY,
    log?: (line: string) => void,
  ): Promise<{ id: string; status: string }> {
    const started = Date.now();
    for (let delay = retry.baseDelayMs; ; delay = Math.min(delay * 2, 15_000)) {
      try {
        const { Invalidation } = await this.call(
          'CreateInvalidation',
          () =>
            this.cloudfront.send(
              new (cloudFrontSdk().CreateInvalidationCommand)({
                DistributionId: this.distributionId,
                InvalidationBatch: {
                  CallerReference: callerReference,
                  Paths: { Quantity: paths.length, Items: paths },
                },
              }),
            ),
          ['TooManyInvalidationsInProgress'],
        );
        return { id: Invalidation!.Id!, status: Invalidation!.Status! };
      } catch (error) {
        if ((error as Error).name !== 'TooManyInvalidationsInProgress') throw error;
        if (Date.now() - started + delay > retry.giveUpAfterMs) {
          throw new UserError(
            `Distribution ${this.distributionId} still has too many invalidations in progress after ${Math.round((Date.now() - started) / 1000)} s (CloudFront allows 3 000 paths and 15 wildcards in progress). Run again later, or invalidate fewer paths.`,
          );
        }
        log?.(
          `Distribution ${this.distributionId} has too many invalidations in progress; retrying in ${Math.round(delay / 1000)} s.`,
        );
        await sleep(delay);
      }
    }
  }

  async status(id: string): Promise<string> {
    const { Invalidation } = await this.call('GetInvalidation', () =>
      this.cloudfront.send(
        new (cloudFrontSdk().GetInvalidationCommand)({ DistributionId: this.distributionId, Id: id }),
      ),
    );
    return Invalidation?.Status ?? 'Unknown';
  }

  /** Polls until Completed, printing a line per poll; fails with a clear message at the timeout. */
  async waitCompleted(id: string, timeoutMs: number, log: (line: string) => void, pollMs = 5000): Promise<void> {
    const started = Date.now();
    for (;;) {
      const status = await this.status(id);
      const elapsed = Math.round((Date.now() - started) / 1000);
      if (status === 'Completed') {
        log(`Invalidation ${id} completed after ${elapsed} s.`);
        return;
      }
      if (Date.now() - started + pollMs > timeoutMs) {
        throw new UserError(
          `Invalidation ${id} of distribution ${this.distributionId} is still ${status} after ${elapsed} s; it goes on in CloudFront. Check it with: aws cloudfront get-invalidation --distribution-id ${this.distributionId} --id ${id}`,
        );
      }
      log(`Invalidation ${id}: ${status} (${elapsed} s)…`);
      await sleep(pollMs);
    }
  }

  private async call<T>(operation: string, run: () => Promise<T>, passThrough: string[] = []): Promise<T> {
    try {
      return await run();
    } catch (error) {
      if (passThrough.includes((error as Error).name)) throw error;
      throw explainCloudFrontError(error, operation, this.distributionId);
    }
  }
}

/** One line that says which distribution and operation failed, and what to do about it. */
export function explainCloudFrontError(error: unknown, operation: string, distributionId: string): Error {
  if (error instanceof UserError) return error;
  const e = error as CloudFrontServiceException;
  const where = `cloudfront:${operation} on distribution ${distributionId}`;
  const timedOut = explainTimeout(error, where, 'CloudFront');
  if (timedOut) return new UserError(timedOut);
  switch (e.name) {
    case 'NoSuchDistribution':
      return new UserError(
        `Distribution ${distributionId} does not exist (${where}). Fix the "distributionId" option.`,
      );
    case 'AccessDenied':
    case 'AccessDeniedException': {
      const { who, account } = deniedCaller(error);
      return new UserError(
        `Access denied: ${where}. Allow cloudfront:${operation} on arn:aws:cloudfront::${account}:distribution/${distributionId} for ${who}; in a stack of \`nx g nx-aws-deploy:pipeline\`, the InvalidateThisDistribution statement of the invalidation Lambda's role grants it (InvalidateThePromotedDistribution of the promote role, for promote).`,
      );
    }
    case 'Throttling':
    case 'ThrottlingException':
      return new UserError(`CloudFront kept throttling after retries (${where}). Run again later.`);
    case 'InvalidArgument':
      return new UserError(`CloudFront rejected the request (${where}): ${e.message}`);
    case 'CredentialsProviderError':
      return new UserError(
        `No valid AWS credentials (${where}): ${e.message}. Log in (aws sso login), set AWS_PROFILE, or run where a role is attached.`,
      );
    default:
      return new UserError(
        `${where} failed: ${e.name}${e.$metadata?.httpStatusCode ? ` (HTTP ${e.$metadata.httpStatusCode})` : ''}: ${e.message}`,
      );
  }
}
