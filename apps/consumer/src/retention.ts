import { DEFAULT_RETENTION, purgeExpired, storeSize } from '@triggers/event-store';
import { describeError, type Logger } from '@triggers/log';
import { r2Archive } from './archive.ts';
import type { ConsumerEnv } from './env.ts';
import { settingsOf } from './settings.ts';

/**
 * The scheduled run (`[triggers] crons` in wrangler.toml): purges what the retention policy says
 * has expired (event-store's retention.ts) and reports the store's size. One log line per run,
 * `retention`, with the counts and `store_bytes`; past `STORE_WARN_BYTES` a second line at
 * level `error`, `event store nearly full` ({@link warnIfNearlyFull}), well before D1's 10 GB
 * limit makes writes fail. With the optional `ARCHIVE` R2 binding, expired events are archived
 * before they are deleted (archive.ts), and the line also says `archived_events` and
 * `archived_objects`. A failure is logged and thrown, so the platform records the run as failed.
 */
export async function runRetention(env: ConsumerEnv, log: Logger, now: Date): Promise<void> {
  const { retention } = settingsOf(env);
  const policy = { ...DEFAULT_RETENTION, ...retention };
  const archiving = env.ARCHIVE === undefined ? undefined : r2Archive(env.ARCHIVE, now);
  // What the archive wrote so far (also when a later round failed): nothing without ARCHIVE.
  const archived = () =>
    archiving && { archived_events: archiving.stats.events, archived_objects: archiving.stats.objects };
  let result: Awaited<ReturnType<typeof purgeExpired>>;
  try {
    result = await purgeExpired(env.DB, now, policy, archiving?.archive);
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
}

/**
 * Logs `event store nearly full` at level `error` when `size` is at or past `STORE_WARN_BYTES`:
 * the one line to alert on (docs/operations.md#capacity), from the retention run and from
 * {@link watchStoreSize} alike.
 */
function warnIfNearlyFull(env: ConsumerEnv, log: Logger, size: number | null): void {
  const threshold = settingsOf(env).storeWarnBytes;
  if (size === null || size < threshold) return;
  log.log('error', 'event store nearly full', {
    store_bytes: size,
    store_warn_bytes: threshold,
    advice: 'shorten RETENTION_*_DAYS, archive, or move tenants to another database; see docs/operations.md',
  });
}

/** How often at most one isolate asks D1 its size while consuming `event-queue`. */
export const STORE_WATCH_INTERVAL_MS = 60_000;

/** When this isolate may next ask (ms since the epoch). */
let nextWatchAt = 0;

/**
 * Between retention runs (5 minutes apart) the store may fill fast: an `event-queue` batch also
 * asks D1 its size, at most once per {@link STORE_WATCH_INTERVAL_MS} per isolate (one trivial
 * query), and past `STORE_WARN_BYTES` logs `event store nearly full`, so the alarm keeps ringing
 * while events arrive, before writes fail. Never throws: a store that does not answer is the
 * batch's own writes' to report.
 */
export async function watchStoreSize(env: ConsumerEnv, log: Logger, now: Date): Promise<void> {
  if (now.getTime() < nextWatchAt) return;
  nextWatchAt = now.getTime() + STORE_WATCH_INTERVAL_MS;
  let size: number | null;
  try {
    size = await storeSize(env.DB);
  } catch {
    return;
  }
  warnIfNearlyFull(env, log, size);
}
