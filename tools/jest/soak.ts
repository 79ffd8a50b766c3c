/**
 * Two tiers of the same tests: `npm test` tries each failure path once (or once per phase), `npm run test:soak`
 * (NX_AWS_DEPLOY_SOAK=1) repeats it many times, at other points and in other orders.
 */
export const SOAK = process.env.NX_AWS_DEPLOY_SOAK === '1';

/** How many trials: `soak` in the soak tier, `once` (default 1) in `npm test`. */
export function trials(soak: number, once = 1): number {
  return SOAK ? soak : once;
}
