import {
  DEFAULT_RETENTION,
  type PurgeResult,
  purgeDeadLetters,
  purgeExpired,
  type RetentionPolicy,
} from '@triggers/event-store';
import { describeError, type Logger } from '@triggers/log';
import { r2Archive } from './archive.ts';
import type { ConsumerEnv } from './env.ts';
import { settingsOf } from './settings.ts';

/**
 * Retention, in two places:
 * - each tenant's store purges itself on its own alarm (tenant-store.ts, {@link retainTenant}):
 *   what the retention policy says has expired (event-store's retention.ts), archived first to
 *   the optional `ARCHIVE` R2 bucket (archive.ts). One log line per run, `retention`, with the
 *   tenant, the counts and `store_bytes`;
 * - the scheduled run (`[triggers] crons` in wrangler.toml, `pnpm retention:run` locally,
 *   {@link runRetention}) purges D1's `dead_letters`, which belong to no tenant, and reports D1's
 *   size the same way.
 * Past `STORE_WARN_BYTES` either writes a second line at level `error`, `event store nearly
 * full` ({@link warnIfNearlyFull}), well before a store's 10 GB limit makes writes fail.
 */

/** The policy of the Worker's settings. */
export function retentionPolicy(env: ConsumerEnv): RetentionPolicy {
  return { ...DEFAULT_RETENTION, ...settingsOf(env).retention };
}

/**
 * One run of a tenant's retention on its store `db` (the store's alarm): purges, archiving first
 * with the optional `ARCHIVE` binding (the line then also says `archived_events` and
 * `archived_objects`), and logs the `retention` line, then `event store nearly full` past
 * `STORE_WARN_BYTES`. A failure is logged (`retention failed`) and thrown.
 */
export async function retainTenant(
  db: D1Database,
  env: ConsumerEnv,
  log: Logger,
  now: Date,
): Promise<PurgeResult> {
  const policy = retentionPolicy(env);
  const archiving = env.ARCHIVE === undefined ? undefined : r2Archive(env.ARCHIVE, now);
  // What the archive wrote so far (also when a later round failed): nothing without ARCHIVE.
  const archived = () =>
    archiving && { archived_events: archiving.stats.events, archived_objects: archiving.stats.objects };
  let result: PurgeResult;
  try {
    result = await purgeExpired(db, now, policy, archiving?.archive);
  } catch (err) {
    log.log('error', 'retention failed', { error: describeError(err), ...archived() });
    throw err;
  }
  const { size_bytes, ...counts } = result;
  log.log('info', 'retention', {
    ...counts,
    ...archived(),
    delivered_days: policy.deliveredDays,
    failed_days: policy.failedDays,
    store_bytes: size_bytes ?? undefined,
    store_warn_bytes: settingsOf(env).storeWarnBytes,
  });
  warnIfNearlyFull(env, log, size_bytes);
  return result;
}

/**
 * The scheduled run: purges D1's `dead_letters` older than `RETENTION_FAILED_DAYS` and logs the
 * `retention` line (`store: 'd1'`) with D1's size. A failure is logged and thrown, so the platform
 * records the run as failed.
 */
export async function runRetention(env: ConsumerEnv, log: Logger, now: Date): Promise<void> {
  const policy = retentionPolicy(env);
  let result: Awaited<ReturnType<typeof purgeDeadLetters>>;
  try {
    result = await purgeDeadLetters(env.DB, now, policy);
  } catch (err) {
    log.log('error', 'retention failed', { store: 'd1', error: describeError(err) });
    throw err;
  }
  const { size_bytes, ...counts } = result;
  const d1 = log.with({ store: 'd1' });
  d1.log('info', 'retention', {
    ...counts,
    failed_days: policy.failedDays,
    store_bytes: size_bytes ?? undefined,
    store_warn_bytes: settingsOf(env).storeWarnBytes,
  });
  warnIfNearlyFull(env, d1, size_bytes);
}

/**
 * Logs `event store nearly full` at level `error` when `size` is at or past `STORE_WARN_BYTES`:
 * the one line to alert on (docs/operations.md#capacity), from a store's retention run, from its
 * writes (tenant-store.ts) and from the scheduled run for D1 alike; `log` carries which store.
 */
export function warnIfNearlyFull(env: ConsumerEnv, log: Logger, size: number | null): void {
  const threshold = settingsOf(env).storeWarnBytes;
  if (size === null || size < threshold) return;
  log.log('error', 'event store nearly full', {
    store_bytes: size,
    store_warn_bytes: threshold,
    advice: 'shorten RETENTION_*_DAYS or archive; see docs/operations.md',
  });
}
