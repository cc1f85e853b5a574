import { describeError } from '@triggers/log';
import type { AuthedRequest } from '../context.ts';
import type { IngestEnv } from '../env.ts';
import { ApiError } from '../lib/errors.ts';

/**
 * Charges the request to its API key's budget of `RATE_LIMIT_REQUESTS` requests per
 * `RATE_LIMIT_PERIOD_SECONDS` (the `RATE_LIMITER` binding), before the body is read, or
 * refuses it with 429 `RATE_LIMITED`. Each key has its own counter, so one key's flood never slows
 * another. A request counts once whatever it carries: a batch of 100 events costs what one event
 * does, which makes batching the way to send more.
 *
 * The binding answers only yes or no: it does not say how much budget is left or when its window
 * rolls over. A 429 therefore states what is known: the limit and policy, nothing remaining, and
 * `Retry-After` set to the whole period (the longest a client can need to wait). If the binding
 * itself fails, the request is let through: an outage of the limiter must not stop ingestion.
 */
export async function withRateLimit(request: AuthedRequest, env: IngestEnv): Promise<void> {
  let success: boolean;
  try {
    ({ success } = await env.RATE_LIMITER.limit({ key: request.apiKey.id }));
  } catch (err) {
    request.log.log('warn', 'rate limiter failed; request let through', { error: describeError(err) });
    return;
  }
  if (success) return;
  const limit = env.RATE_LIMIT_REQUESTS;
  const period = env.RATE_LIMIT_PERIOD_SECONDS;
  throw new ApiError(
    'RATE_LIMITED',
    `This API key may make ${limit} requests per ${period} seconds and has used them up. Retry after ${period} seconds.`,
    {
      headers: {
        'retry-after': String(period),
        'ratelimit-limit': String(limit),
        'ratelimit-remaining': '0',
        'ratelimit-policy': `${limit};w=${period}`,
      },
    },
  );
}
