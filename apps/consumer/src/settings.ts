import { DEFAULT_ATTEMPT_SCHEDULE } from '@triggers/webhooks';
import { MAX_ATTEMPT_DELAY_SECONDS } from './delivery/schedule.ts';
import type { ConsumerEnv } from './env.ts';

/**
 * The consumer's vars, read and checked once (docs/operations.md#settings). A value that is not
 * what its var takes stops the Worker as it loads, with a message naming the var and what it
 * takes, rather than doing something else quietly: `RETENTION_DELIVERED_DAYS = 0` would purge
 * every delivered event at the next run, an unreadable `DELIVERY_SCHEDULE` would fall back to a
 * schedule nobody chose.
 */
export interface Settings {
  /** `ENVIRONMENT=development`: webhook URLs on loopback are allowed (`@triggers/webhooks`). */
  local: boolean;
  retention: { deliveredDays: number; failedDays: number };
  storeWarnBytes: number;
  /** A write leaving a tenant's newest store at this size opens its next era (event-store eras.ts). */
  storeSplitBytes: number;
  delivery: {
    /** Seconds before each attempt after the first. */
    schedule: readonly number[];
    timeoutMs: number;
    /** Deliveries ending failed in a row after which a subscription is disabled. */
    disableAfter: number;
  };
}

/** What the settings' checks found wrong, every problem at once. */
export class SettingsError extends Error {
  override name = 'SettingsError';
}

/** Longest retention accepted: ten years, past which a typo is likelier than a policy. */
const MAX_RETENTION_DAYS = 3_650;
/** Longest attempt timeout accepted: a queue consumer's invocation must finish well within minutes. */
const MAX_TIMEOUT_MS = 60_000;

type Problems = string[];

/** A whole number in [min, max] from a var written as a number or as text. */
function wholeNumber(
  problems: Problems,
  name: string,
  value: unknown,
  [min, max]: [number, number],
  unit: string,
): number {
  const n = typeof value === 'number' ? value : typeof value === 'string' ? Number(value.trim()) : Number.NaN;
  const blank = typeof value === 'string' && value.trim() === '';
  if (!blank && Number.isInteger(n) && n >= min && n <= max) return n;
  problems.push(
    `${name} must be a whole number of ${unit} from ${min} to ${max} (got ${JSON.stringify(value)})`,
  );
  return min;
}

/** `DELIVERY_SCHEDULE`: comma-separated seconds, or empty for the default. */
function schedule(problems: Problems, value: unknown): readonly number[] {
  if (value === undefined || value === null || (typeof value === 'string' && value.trim() === '')) {
    return DEFAULT_ATTEMPT_SCHEDULE;
  }
  const parts = String(value).split(',');
  const delays = parts.map((part) => Number(part.trim()));
  const fine = parts.every(
    (part, i) => part.trim() !== '' && Number.isInteger(delays[i]) && (delays[i] ?? -1) >= 0,
  );
  if (fine && delays.every((d) => d <= MAX_ATTEMPT_DELAY_SECONDS)) return delays;
  problems.push(
    `DELIVERY_SCHEDULE must be comma-separated whole seconds from 0 to ${MAX_ATTEMPT_DELAY_SECONDS}, ` +
      `or empty for the default (got ${JSON.stringify(value)})`,
  );
  return DEFAULT_ATTEMPT_SCHEDULE;
}

/** Reads every var this Worker takes; throws one {@link SettingsError} listing all that are wrong. */
export function readSettings(env: ConsumerEnv): Settings {
  const problems: Problems = [];
  const days = [1, MAX_RETENTION_DAYS] as [number, number];
  const settings: Settings = {
    local: env.ENVIRONMENT === 'development',
    retention: {
      deliveredDays: wholeNumber(
        problems,
        'RETENTION_DELIVERED_DAYS',
        env.RETENTION_DELIVERED_DAYS,
        days,
        'days',
      ),
      failedDays: wholeNumber(problems, 'RETENTION_FAILED_DAYS', env.RETENTION_FAILED_DAYS, days, 'days'),
    },
    storeWarnBytes: wholeNumber(
      problems,
      'STORE_WARN_BYTES',
      env.STORE_WARN_BYTES,
      [1, 10 * 10 ** 9],
      'bytes',
    ),
    storeSplitBytes: wholeNumber(
      problems,
      'STORE_SPLIT_BYTES',
      env.STORE_SPLIT_BYTES,
      [1, 10 * 10 ** 9],
      'bytes',
    ),
    delivery: {
      schedule: schedule(problems, env.DELIVERY_SCHEDULE),
      timeoutMs: wholeNumber(
        problems,
        'DELIVERY_TIMEOUT_MS',
        env.DELIVERY_TIMEOUT_MS,
        [1, MAX_TIMEOUT_MS],
        'milliseconds',
      ),
      disableAfter: wholeNumber(
        problems,
        'DELIVERY_DISABLE_AFTER',
        env.DELIVERY_DISABLE_AFTER,
        [1, 1_000],
        'deliveries',
      ),
    },
  };
  if (problems.length > 0) {
    throw new SettingsError(`triggers-consumer: invalid settings: ${problems.join('; ')}`);
  }
  return settings;
}

const read = new WeakMap<object, Settings>();

/** {@link readSettings}, once per `env` object (a runtime hands the same one to every event). */
export function settingsOf(env: ConsumerEnv): Settings {
  let settings = read.get(env);
  if (settings === undefined) {
    settings = readSettings(env);
    read.set(env, settings);
  }
  return settings;
}
