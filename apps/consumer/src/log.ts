/**
 * The consumer's structured log lines: one JSON object per line, so Workers Logs can index the
 * fields. Identifiers and counts only: payloads never reach a log line.
 */
type Fields = Record<string, string | number | undefined>;

function write(level: 'info' | 'warn', message: string, fields: Fields): void {
  const line = JSON.stringify({ level, message, ...fields, time: new Date().toISOString() });
  if (level === 'warn') console.warn(line);
  else console.log(line);
}

/** What one batch did: one line per batch. */
export interface BatchSummary {
  queue: string;
  size: number;
  /** Events written by this batch (`delivered` on event-queue, `failed` on event-dlq). */
  stored: number;
  /** Messages whose event was already final in the store: redeliveries. */
  duplicates: number;
  retried: number;
  dead_lettered: number;
  duration_ms: number;
}

export function logBatch(summary: BatchSummary): void {
  write('info', 'batch', { ...summary });
}

/** One message that could not be stored: retried, or dead-lettered. */
export interface Failure {
  queue: string;
  message_id: string;
  /** Absent when the body is too malformed to carry one. */
  event_id?: string | undefined;
  correlation_id?: string | undefined;
  attempt: number;
  reason: string;
  /** `dead_letter` also when the queue, out of retries, moves it to the DLQ itself. */
  action: 'retry' | 'dead_letter' | 'dropped';
}

export function logFailure(failure: Failure): void {
  write('warn', 'message failed', { ...failure });
}

/** A whole batch given up before it was processed: the queue retries every message in it. */
export function logBatchThrown(queue: string, size: number, reason: string): void {
  write('warn', 'batch failed', { queue, size, reason, action: 'retry' });
}
