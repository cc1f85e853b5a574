import { EVENT_DLQ_CONSUMER } from '@triggers/event-schema';
import type { Logger } from '@triggers/log';
import { tryCommit, writeByTenant } from './commit.ts';
import {
  deadEventOf,
  type EventLetter,
  readDeadLetter,
  recordUnreadableLetters,
  type UnreadableLetter,
} from './dead-letter.ts';
import type { ConsumerEnv } from './env.ts';
import { BatchOutcome } from './outcome.ts';

/**
 * Handles a batch of `event-dlq`: records every dead letter, valid events as `failed` in their
 * tenant's store (one call per tenant, every tenant at once), anything else in D1's
 * `dead_letters`, body and all (one round trip), and acks a message only once its record has
 * committed. When a tenant's store (or D1) fails, the messages that needed it are retried with
 * backoff, and the others acked: nothing is acked that is not recorded.
 */
export async function processDeadLetterBatch(
  batch: MessageBatch<unknown>,
  env: ConsumerEnv,
  log: Logger,
): Promise<void> {
  const now = new Date();
  const outcome = new BatchOutcome(log, batch, EVENT_DLQ_CONSUMER.maxRetries + 1, 'dropped');
  const events: { message: Message<unknown>; letter: EventLetter }[] = [];
  const unreadable: { message: Message<unknown>; letter: UnreadableLetter }[] = [];
  for (const message of batch.messages) {
    const letter = readDeadLetter(message);
    if (letter.kind === 'event') events.push({ message, letter });
    else unreadable.push({ message, letter });
  }
  const [shares, recorded] = await Promise.all([
    writeByTenant(
      env.TENANTS,
      events,
      ({ letter }) => letter.event.api_key_id,
      (share) => ({ failed: share.map(({ letter }) => deadEventOf(letter)) }),
      now,
    ),
    tryCommit(env.DB, [
      recordUnreadableLetters(
        env.DB,
        unreadable.map(({ letter }) => letter),
        now,
      ),
    ]),
  ]);
  // A key already final (delivered, or recorded by an earlier copy) is a duplicate, acked all the same.
  for (const share of shares) {
    if (share.ok) {
      outcome.storedOnce(
        share.items.map(({ message, letter }) => ({ message, key: letter.event.event_id })),
        new Set(share.written.failed),
      );
    } else {
      for (const { message, letter } of share.items) outcome.retry(message, letter.event, share.reason);
    }
  }
  if (recorded.ok) {
    outcome.storedOnce(
      unreadable.map(({ message, letter }) => ({ message, key: letter.message_id })),
      recorded.keys[0],
    );
  } else {
    for (const { message } of unreadable) outcome.retry(message, undefined, recorded.reason);
  }
  outcome.finish();
}
