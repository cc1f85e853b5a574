/**
 * Structured logs: one JSON object per line, so Workers Logs can index the fields. Callers pass
 * identifiers and measurements only; event payloads and API keys never reach a log line.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export type LogFields = Record<string, string | number | boolean | undefined>;

export interface Logger {
  log(level: LogLevel, message: string, fields?: LogFields): void;
  /** A logger whose lines also carry `fields` (the correlation id, once known the event id). */
  with(fields: LogFields): Logger;
}

export function createLogger(base: LogFields = {}): Logger {
  return {
    log(level, message, fields) {
      const line = JSON.stringify({ level, message, ...base, ...fields, time: new Date().toISOString() });
      if (level === 'error') console.error(line);
      else if (level === 'warn') console.warn(line);
      else console.log(line);
    },
    with(fields) {
      return createLogger({ ...base, ...fields });
    },
  };
}
