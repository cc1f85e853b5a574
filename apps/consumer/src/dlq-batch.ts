import { EVENT_DLQ_CONSUMER } from '@triggers/event-schema';
import { describeError, type Logger } from '@triggers/log';
import { tryCommit, writeByTenant } from './commit.ts';
import {
  deadEventOf,
  type EventLetter,
  readDeadLetter,
  recordUnreadableLetters,
  type UnreadableLetter,
} from './dead-letter.ts';
import { sendFanOut } from './delivery/fan-out.ts';
import type { ConsumerEnv } from './env.ts';
import { BatchOutcome } from './outcome.ts';

/**
 * Handles a batch of `event-dlq`: records every dead letter, valid events as `failed` in their
 * tenant's store (one call per tenant, every tenant at once), anything else in D1's
 * `dead_letters`, body and all (one round trip), and acks a message only once its record has
 * committed. When a tenant's store (or D1) fails, the messages that needed it are retried with
 * backoff, and the others acked: nothing is acked that is not recorded.
 *
 * An event the store holds as final already may be one stored as `delivered` whose fan-out
 * `delivery-queue` refused on every attempt: Cloudflare moved its message here after the last
 * one. For a subscribed tenant such events are fanned out again (the store's fan-out skips an
 * event not delivered and a delivery that exists), and their messages are acked only once the
 * fan-out is on the queue.
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
      env,
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
  const final = shares.flatMap((share) => {
    if (!share.ok || !share.written.subscribed) return [];
    const changed = new Set(share.written.failed);
    return share.items.filter(({ letter }) => !changed.has(letter.event.event_id));
  });
  const unsent = await sendFanOut(
    env.DELIVERY_QUEUE,
    final.map(({ letter }) => letter.event),
  ).then(
    () => undefined,
    (err: unknown) => `delivery-queue refused the fan-out: ${describeError(err)}`,
  );
  const refused = new Set(unsent === undefined ? [] : final);
  // A key already final (delivered, or recorded by an earlier copy) is a duplicate, acked all the
  // same once its fan-out, if it needs one, is on the queue.
  for (const share of shares) {
    if (share.ok) {
      const items = share.items.filter((item) => !refused.has(item));
      outcome.storedOnce(
        items.map(({ message, letter }) => ({ message, key: letter.event.event_id })),
        new Set(share.written.failed),
      );
    } else {
      for (const { message, letter } of share.items) outcome.retry(message, letter.event, share.reason);
    }
  }
  for (const { message, letter } of refused) outcome.retry(message, letter.event, unsent ?? '');
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
