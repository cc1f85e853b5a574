import { MAX_QUEUE_ATTEMPTS, QueuedEvent } from '@triggers/event-schema';
import { recordRetry, storeDelivered, subscribedKeys } from '@triggers/event-store';
import { describeError, type Logger } from '@triggers/log';
import * as v from 'valibot';
import { tryCommit } from './commit.ts';
import {
  type DeadLetter,
  deadLetterOf,
  fitsOnQueue,
  recordDeadLetters,
  sendDeadLetters,
} from './dead-letter.ts';
import { sendFanOut } from './delivery/fan-out.ts';
import { describeIssues } from './describe.ts';
import type { ConsumerEnv } from './env.ts';
import { BatchOutcome } from './outcome.ts';
import { watchStoreSize } from './retention.ts';

/** `last_error` of an event whose sender asked, with `?debug=processing_error`, for it to fail. */
export const PROCESSING_ERROR_REASON =
  'processing_error: failed on purpose (debug flag), as on every attempt';
/** `last_error` of an event whose sender asked, with `?debug=dlq_routing`, for it to be dead-lettered. */
export const DLQ_ROUTING_REASON = 'dlq_routing: dead-lettered on purpose (debug flag), not processed';

/** What one message of the batch needs. */
type Step =
  | { kind: 'store'; message: Message<unknown>; event: QueuedEvent }
  | { kind: 'fail'; message: Message<unknown>; event: QueuedEvent; reason: string }
  | {
      kind: 'dead_letter';
      message: Message<unknown>;
      event?: QueuedEvent;
      reason: string;
      letter: DeadLetter;
    };

function plan(queue: string, message: Message<unknown>): Step {
  const parsed = v.safeParse(QueuedEvent, message.body);
  if (!parsed.success) {
    const reason = describeIssues(parsed.issues);
    return { kind: 'dead_letter', message, reason, letter: deadLetterOf(queue, message, reason) };
  }
  const event = parsed.output;
  switch (event.debug) {
    case 'dlq_routing': {
      const reason = DLQ_ROUTING_REASON;
      return {
        kind: 'dead_letter',
        message,
        event,
        reason,
        letter: deadLetterOf(queue, message, reason, event),
      };
    }
    case 'processing_error':
      return { kind: 'fail', message, event, reason: PROCESSING_ERROR_REASON };
    default:
      // `queue_delay` was the producer's delivery delay; by now it is an ordinary event.
      return { kind: 'store', message, event };
  }
}

const byKind = <K extends Step['kind']>(steps: Step[], kind: K) =>
  steps.filter((step): step is Extract<Step, { kind: K }> => step.kind === kind);

/**
 * Handles a batch of `event-queue`:
 * - each body is validated; a malformed one is dead-lettered with its reason, alone;
 * - `dlq_routing` events are dead-lettered unprocessed, `processing_error` ones fail (retried
 *   with backoff until Cloudflare moves them to `event-dlq`), every other event is stored;
 * - every store write of the batch (stored events, failed attempts, dead letters too large to
 *   travel) goes to D1 in one round trip, while dead letters go to `event-dlq` alongside;
 * - the stored events of keys with subscriptions are handed to the dispatcher to fan out
 *   (delivery/fan-out.ts): a few messages, whatever the subscriptions; if the queue refuses them,
 *   the stored events' messages are retried;
 * - each message is then acked or retried on its own; when D1 fails, every message that needed
 *   it is retried, and nothing else;
 * - at most once a minute per isolate, the store's size is checked alongside (retention.ts).
 */
export async function processEventBatch(
  batch: MessageBatch<unknown>,
  env: ConsumerEnv,
  log: Logger,
): Promise<void> {
  const now = new Date();
  const outcome = new BatchOutcome(log, batch, MAX_QUEUE_ATTEMPTS, 'dead_letter');
  const steps = batch.messages.map((message) => plan(batch.queue, message));
  const toStore = byKind(steps, 'store');
  const toFail = byKind(steps, 'fail');
  const letters = byKind(steps, 'dead_letter');
  const toSend = letters.filter((step) => fitsOnQueue(step.letter));
  const toRecord = letters.filter((step) => !fitsOnQueue(step.letter));

  const [written, unsent] = await Promise.all([
    tryCommit(env.DB, [
      storeDelivered(
        env.DB,
        toStore.map(({ event, message }) => ({ event, attempts: message.attempts })),
        now,
      ),
      recordRetry(
        env.DB,
        toFail.map(({ event, message, reason }) => ({ event, attempts: message.attempts, error: reason })),
        now,
      ),
      ...recordDeadLetters(
        env.DB,
        toRecord.map((step) => step.letter),
        now,
      ),
      // Read in the same round trip: whose stored events have subscriptions to fan out to.
      subscribedKeys(
        env.DB,
        toStore.map(({ event }) => event.api_key_id),
      ),
    ]),
    sendDeadLetters(
      env.EVENT_DLQ,
      toSend.map((step) => step.letter),
    ),
    watchStoreSize(env, log, now),
  ]);

  if (!written.ok) {
    for (const step of [...toStore, ...toFail, ...toRecord]) {
      outcome.retry(step.message, step.event, written.reason);
    }
  } else {
    const [stored, , , , subscribed] = written.keys;
    const unsentDeliveries = await sendFanOut(
      env.DELIVERY_QUEUE,
      toStore.filter(({ event }) => subscribed.has(event.api_key_id)).map(({ event }) => event),
    ).then(
      () => undefined,
      (err: unknown) => `delivery-queue refused the fan-out: ${describeError(err)}`,
    );
    if (unsentDeliveries === undefined) {
      outcome.storedOnce(
        toStore.map(({ message, event }) => ({ message, key: event.event_id })),
        stored,
      );
    } else {
      for (const { message, event } of toStore) outcome.retry(message, event, unsentDeliveries);
    }
    for (const { message, event, reason } of toFail) outcome.retry(message, event, reason);
    for (const { message, event, reason } of toRecord) outcome.deadLettered(message, event, reason);
  }
  for (const { message, event, reason, letter } of toSend) {
    const failure = unsent.get(letter);
    if (failure === undefined) outcome.deadLettered(message, event, reason);
    else outcome.retry(message, event, failure);
  }
  outcome.finish();
}
