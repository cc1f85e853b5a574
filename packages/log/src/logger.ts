/**
 * Structured logs for both Workers: one JSON object per line, so Workers Logs can index the
 * fields. Callers pass identifiers and measurements only; event payloads and API keys never reach
 * a log line.
 *
 * @example
 * const log = createLogger({ correlation_id }, parseLogLevel(env.LOG_LEVEL));
 * log.with({ event_id }).log('warn', 'queue refused', { attempt: 2 });
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

const RANK: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

/** `LOG_LEVEL` as configured, `info` when unset or unknown. */
export function parseLogLevel(value: string | undefined): LogLevel {
  return value !== undefined && value in RANK ? (value as LogLevel) : 'info';
}

export type LogFields = Record<string, string | number | boolean | undefined>;

export interface Logger {
  log(level: LogLevel, message: string, fields?: LogFields): void;
  /** A logger whose lines also carry `fields` (a correlation id, an event id, a queue). */
  with(fields: LogFields): Logger;
}

/** A logger that writes lines at `minLevel` and above, each carrying `base`. */
export function createLogger(base: LogFields = {}, minLevel: LogLevel = 'info'): Logger {
  return {
    log(level, message, fields) {
      if (RANK[level] < RANK[minLevel]) return;
      const line = JSON.stringify({ level, message, ...base, ...fields, time: new Date().toISOString() });
      if (level === 'error') console.error(line);
      else if (level === 'warn') console.warn(line);
      else console.log(line);
    },
    with(fields) {
      return createLogger({ ...base, ...fields }, minLevel);
    },
  };
}
