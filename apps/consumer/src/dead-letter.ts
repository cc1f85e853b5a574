import {
  EVENT_DLQ,
  EVENT_QUEUE,
  jsonBytes,
  MAX_QUEUE_ATTEMPTS,
  MAX_QUEUED_EVENT_BYTES,
  QueuedEvent,
  sendBatchChunks,
} from '@triggers/event-schema';
import {
  type DeadEvent,
  encodeBody,
  RETRIES_EXHAUSTED,
  recordUnreadable,
  type StoreWrite,
} from '@triggers/event-store';
import { describeError } from '@triggers/log';
import * as v from 'valibot';
import { describeIssues } from './describe.ts';

/** Why and where a message was dead-lettered. */
const DeadLetterFacts = {
  /** `null`: the reason its last failed attempt recorded in the store (see {@link readDeadLetter}). */
  reason: v.nullable(v.string()),
  /** Delivery attempts the message had on its queue. */
  attempts: v.number(),
  /** The queue it failed on. */
  queue: v.string(),
  /** Its id there: records of the same message stay one record however often it is sent. */
  message_id: v.string(),
  /** When it was first enqueued there (ISO-8601). */
  enqueued_at: v.string(),
};

/**
 * What this Worker sends to `event-dlq` when it dead-letters a message itself: the facts a
 * message moved by Cloudflare after its last retry does not carry (that one arrives as the bare
 * QueuedEvent). A valid event travels as is; any other body as text the store can keep.
 */
export const DeadLetter = v.variant('kind', [
  v.object({ kind: v.literal('event'), ...DeadLetterFacts, event: QueuedEvent }),
  v.object({
    kind: v.literal('unreadable'),
    ...DeadLetterFacts,
    body: v.string(),
    body_encoding: v.picklist(['json', 'base64']),
  }),
]);
export type DeadLetter = v.InferOutput<typeof DeadLetter>;

/** The dead letter for `message` of `queue`: of its valid `event`, or of its unreadable body. */
export function deadLetterOf(
  queue: string,
  message: Pick<Message<unknown>, 'id' | 'attempts' | 'timestamp' | 'body'>,
  reason: string,
  event?: QueuedEvent,
): DeadLetter {
  const facts = {
    reason,
    attempts: message.attempts,
    queue,
    message_id: message.id,
    enqueued_at: message.timestamp.toISOString(),
  };
  return event
    ? { kind: 'event', ...facts, event }
    : { kind: 'unreadable', ...facts, ...encodeBody(message.body) };
}

/**
 * Whether a dead letter fits in a queue message. One that does not (an event near the 128 KB
 * limit plus these facts) is recorded in the store directly instead of travelling.
 */
export const fitsOnQueue = (letter: DeadLetter): boolean => jsonBytes(letter) <= MAX_QUEUED_EVENT_BYTES;

/**
 * Sends dead letters with as few `sendBatch()` calls as the queue's limits allow (100 messages,
 * 256 KB per call), all calls at once. Never throws: resolves the letters whose call failed,
 * with the reason, so that only their messages are retried.
 */
export async function sendDeadLetters(
  dlq: Queue<DeadLetter>,
  letters: readonly DeadLetter[],
): Promise<Map<DeadLetter, string>> {
  const calls = sendBatchChunks(letters, jsonBytes);

  const failed = new Map<DeadLetter, string>();
  const results = await Promise.allSettled(
    calls.map((call) => dlq.sendBatch(call.map((body) => ({ body, contentType: 'json' as const })))),
  );
  results.forEach((result, i) => {
    if (result.status === 'fulfilled') return;
    const reason = `dead-letter queue unavailable: ${describeError(result.reason)}`;
    for (const letter of calls[i] ?? []) failed.set(letter, reason);
  });
  return failed;
}

/**
 * The dead letter a message of `event-dlq` carries. Either one this Worker sent, or a message
 * Cloudflare moved there from `event-queue` after its last retry: that one is the bare body, so
 * its attempts are all of them, and its reason is whatever its last attempt recorded. Its queue
 * is recorded as `event-queue` whichever shard it came from: a moved message does not say.
 */
export function readDeadLetter(message: Message<unknown>): DeadLetter {
  const sent = v.safeParse(DeadLetter, message.body);
  if (sent.success) return sent.output;
  const facts = {
    attempts: MAX_QUEUE_ATTEMPTS,
    queue: EVENT_QUEUE,
    message_id: message.id,
    enqueued_at: message.timestamp.toISOString(),
  };
  const moved = v.safeParse(QueuedEvent, message.body);
  if (moved.success) return { kind: 'event', ...facts, reason: null, event: moved.output };
  const reason = `${describeIssues(moved.issues)}; moved to ${EVENT_DLQ} after ${MAX_QUEUE_ATTEMPTS} attempts`;
  return { kind: 'unreadable', ...facts, reason, ...encodeBody(message.body) };
}

/** A dead letter of a valid event: recorded `failed` in its tenant's store. */
export type EventLetter = Extract<DeadLetter, { kind: 'event' }>;
/** A dead letter of an unreadable body: kept in D1's `dead_letters`, which belong to no tenant. */
export type UnreadableLetter = Extract<DeadLetter, { kind: 'unreadable' }>;

/** The event of a dead letter as its tenant's store records it (`writeEvents({ failed })`). */
export const deadEventOf = (letter: EventLetter): DeadEvent => ({
  event: letter.event,
  attempts: letter.attempts,
  reason: letter.reason,
});

/** The D1 write that keeps unreadable dead letters, body and all, in `dead_letters`. */
export function recordUnreadableLetters(
  db: D1Database,
  letters: readonly UnreadableLetter[],
  now: Date,
): StoreWrite {
  return recordUnreadable(
    db,
    letters.map((letter) => ({
      messageId: letter.message_id,
      queue: letter.queue,
      reason: letter.reason ?? RETRIES_EXHAUSTED,
      attempts: letter.attempts,
      body: letter.body,
      body_encoding: letter.body_encoding,
      enqueuedAt: new Date(letter.enqueued_at),
    })),
    now,
  );
}
