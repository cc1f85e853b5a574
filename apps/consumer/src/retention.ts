import { DEFAULT_RETENTION, purgeExpired } from '@triggers/event-store';
import { describeError, type Logger } from '@triggers/log';
import type { ConsumerEnv } from './env.ts';

/**
 * The scheduled run (`[triggers] crons` in wrangler.toml): purges what the retention policy says
 * has expired (event-store's retention.ts) and reports the store's size. One log line per run,
 * `retention`, with the counts and `store_bytes`; past `STORE_WARN_BYTES` a second line at
 * level `error`, `event store nearly full`, well before D1's 10 GB limit makes writes fail.
 * A failure is logged and thrown, so the platform records the run as failed.
 */
export async function runRetention(env: ConsumerEnv, log: Logger, now: Date): Promise<void> {
  const policy = {
    ...DEFAULT_RETENTION,
    deliveredDays: Number(env.RETENTION_DELIVERED_DAYS),
    failedDays: Number(env.RETENTION_FAILED_DAYS),
  };
  let result: Awaited<ReturnType<typeof purgeExpired>>;
  try {
    result = await purgeExpired(env.DB, now, policy);
  } catch (err) {
    log.log('error', 'retention failed', { error: describeError(err) });
    throw err;
  }
  const threshold = Number(env.STORE_WARN_BYTES);
  const { size_bytes, ...counts } = result;
  log.log('info', 'retention', {
    ...counts,
    delivered_days: policy.deliveredDays,
    failed_days: policy.failedDays,
    store_bytes: size_bytes ?? undefined,
    store_warn_bytes: threshold,
  });
  if (size_bytes !== null && size_bytes >= threshold) {
    log.log('error', 'event store nearly full', {
      store_bytes: size_bytes,
      store_warn_bytes: threshold,
      advice:
        'shorten RETENTION_*_DAYS, archive, or move tenants to another database; see docs/operations.md',
    });
  }
}
