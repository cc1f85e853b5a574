/**
 * The one system the suites that need no fresh state share (packages, fuzz, webhooks): a single
 * `wrangler dev` for all of them (sharedSystem of @triggers/tooling/system), each suite with API
 * keys of its own. The suites that change the system itself (faults, outage, startup) start their
 * own. The options here are the union of what the sharing suites need, so they must be the same
 * for each: the per-key rate limit lifted (the fuzz suite sends thousands of requests with one key;
 * the limiter has tests of its own), and the webhook schedule shortened to seconds through the
 * documented knobs (webhooks.test.ts; nothing else subscribes).
 */
import type { KeySpec } from '@triggers/tooling';
import { type System, sharedSystem } from '@triggers/tooling/system';

/** Retries 1 s, 2 s, 2 s after the first attempt (±20 % jitter): 4 attempts. */
export const WEBHOOK_SCHEDULE = [1, 2, 2];
export const WEBHOOK_TIMEOUT_MS = 1_500;
export const WEBHOOK_DISABLE_AFTER = 2;

/** The shared system, with the keys `keys` seeded for the calling suite. */
export function suiteSystem<K extends string>(keys: Record<K, KeySpec>): Promise<System<K>> {
  return sharedSystem({
    keys,
    rateLimit: 1_000_000,
    vars: {
      DELIVERY_SCHEDULE: WEBHOOK_SCHEDULE.join(','),
      DELIVERY_TIMEOUT_MS: String(WEBHOOK_TIMEOUT_MS),
      DELIVERY_DISABLE_AFTER: String(WEBHOOK_DISABLE_AFTER),
    },
  });
}
