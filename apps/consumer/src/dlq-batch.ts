import { EVENT_DLQ_CONSUMER } from '@triggers/event-schema';
import { commit } from '@triggers/event-store';
import { describeError, type Logger } from '@triggers/log';
import { letterKey, readDeadLetter, recordDeadLetters } from './dead-letter.ts';
import type { ConsumerEnv } from './env.ts';
import { BatchOutcome } from './outcome.ts';

/**
 * Handles a batch of `event-dlq`: records every dead letter in the store in one round trip
 * (valid events as `failed`, anything else in `dead_letters`, body and all), and acks only once
 * that write has committed. When it fails, the whole batch is retried with backoff: nothing is
 * acked that is not recorded.
 */
export async function processDeadLetterBatch(
  batch: MessageBatch<unknown>,
  env: ConsumerEnv,
  log: Logger,
): Promise<void> {
  const now = new Date();
  const outcome = new BatchOutcome(
    log,
    batch.queue,
    batch.messages.length,
    EVENT_DLQ_CONSUMER.maxRetries + 1,
    'dropped',
  );
  const letters = batch.messages.map((message) => ({ message, letter: readDeadLetter(message) }));
  try {
    const [failed, unreadable] = await commit(
      env.DB,
      recordDeadLetters(
        env.DB,
        letters.map(({ letter }) => letter),
        now,
      ),
    );
    const counted = new Set<string>();
    for (const { message, letter } of letters) {
      const key = letterKey(letter);
      // Already final (delivered, or recorded by an earlier copy): a duplicate, acked all the same.
      if ((failed.has(key) || unreadable.has(key)) && !counted.has(key)) outcome.stored(message);
      else outcome.duplicate(message);
      counted.add(key);
    }
  } catch (err) {
    const reason = `event store unavailable: ${describeError(err)}`;
    for (const { message, letter } of letters) {
      outcome.retry(message, letter.kind === 'event' ? letter.event : undefined, reason);
    }
  }
  outcome.finish();
}
