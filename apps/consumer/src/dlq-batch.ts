import { EVENT_DLQ_CONSUMER } from '@triggers/event-schema';
import type { Logger } from '@triggers/log';
import { tryCommit } from './commit.ts';
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
  const outcome = new BatchOutcome(log, batch, EVENT_DLQ_CONSUMER.maxRetries + 1, 'dropped');
  const letters = batch.messages.map((message) => ({ message, letter: readDeadLetter(message) }));
  const written = await tryCommit(
    env.DB,
    recordDeadLetters(
      env.DB,
      letters.map(({ letter }) => letter),
      now,
    ),
  );
  if (!written.ok) {
    for (const { message, letter } of letters) {
      outcome.retry(message, letter.kind === 'event' ? letter.event : undefined, written.reason);
    }
  } else {
    // A key already final (delivered, or recorded by an earlier copy) is a duplicate, acked all the same.
    const [failed, unreadable] = written.keys;
    outcome.storedOnce(
      letters.map(({ message, letter }) => ({ message, key: letterKey(letter) })),
      new Set([...failed, ...unreadable]),
    );
  }
  outcome.finish();
}
