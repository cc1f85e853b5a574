import type { QueuedEvent } from '@triggers/event-schema';
import type { Logger } from '@triggers/log';
import { type BatchSummary, type Failure, logBatch, logFailure } from './log.ts';
import { queueRetryDelaySeconds } from './queue-retry.ts';

/**
 * Settles the messages of one batch, one by one (`ack` or `retry`, so a message that succeeded
 * is never run again), counts what happened and logs it: a line per failure, a line per batch.
 */
export class BatchOutcome {
  readonly #startedAt = Date.now();
  readonly #counts = { stored: 0, duplicates: 0, retried: 0, dead_lettered: 0 };

  /**
   * @param lastAttempt the queue attempt after which the queue stops retrying a message.
   * @param afterLast what the queue does with it then: move it to the DLQ, or drop it.
   */
  constructor(
    readonly log: Logger,
    readonly batch: MessageBatch<unknown>,
    readonly lastAttempt: number,
    readonly afterLast: 'dead_letter' | 'dropped',
  ) {}

  /** Its event is now in the store. */
  stored(message: Message<unknown>): void {
    message.ack();
    this.#counts.stored++;
  }

  /** Its event was already final in the store: a redelivery. */
  duplicate(message: Message<unknown>): void {
    message.ack();
    this.#counts.duplicates++;
  }

  /**
   * Settles messages whose events a store write handled: `stored` when the write changed the
   * message's key, `duplicate` when it did not (the key was already final) or when an earlier
   * message of the batch carried the same key (two copies of one event are stored once).
   */
  storedOnce(
    messages: readonly { message: Message<unknown>; key: string }[],
    changed: ReadonlySet<string>,
  ): void {
    const counted = new Set<string>();
    for (const { message, key } of messages) {
      if (changed.has(key) && !counted.has(key)) this.stored(message);
      else this.duplicate(message);
      counted.add(key);
    }
  }

  /** Dead-lettered (sent to the DLQ or recorded as failed) for `reason`. */
  deadLettered(message: Message<unknown>, event: QueuedEvent | undefined, reason: string): void {
    message.ack();
    this.#counts.dead_lettered++;
    this.#logFailure(message, event, reason, 'dead_letter');
  }

  /** Failed for `reason`: redelivered after an exponential backoff (see queue-retry.ts). */
  retry(message: Message<unknown>, event: QueuedEvent | undefined, reason: string): void {
    message.retry({ delaySeconds: queueRetryDelaySeconds(message.attempts) });
    this.#counts.retried++;
    this.#logFailure(message, event, reason, message.attempts >= this.lastAttempt ? this.afterLast : 'retry');
  }

  /** Logs the batch line; call once every message is settled. */
  finish(): BatchSummary {
    const summary = {
      queue: this.batch.queue,
      size: this.batch.messages.length,
      ...this.#counts,
      duration_ms: Date.now() - this.#startedAt,
    };
    logBatch(this.log, summary);
    return summary;
  }

  #logFailure(
    message: Message<unknown>,
    event: QueuedEvent | undefined,
    reason: string,
    action: Failure['action'],
  ): void {
    logFailure(this.log, {
      queue: this.batch.queue,
      message_id: message.id,
      event_id: event?.event_id,
      correlation_id: event?.correlation_id,
      attempt: message.attempts,
      reason,
      action,
    });
  }
}
