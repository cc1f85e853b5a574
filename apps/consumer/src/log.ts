import type { Logger } from '@triggers/log';

/**
 * The consumer's log lines, through the Workers' one logger (@triggers/log, which honours
 * `LOG_LEVEL`): a line per batch, a line per failed message. Identifiers and counts only: payloads
 * never reach a log line.
 */

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

export function logBatch(log: Logger, summary: BatchSummary): void {
  log.log('info', 'batch', { ...summary });
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

export function logFailure(log: Logger, failure: Failure): void {
  log.log('warn', 'message failed', { ...failure });
}

/** A whole batch given up before it was processed: the queue retries every message in it. */
export function logBatchThrown(log: Logger, queue: string, size: number, reason: string): void {
  log.log('warn', 'batch failed', { queue, size, reason, action: 'retry' });
}
