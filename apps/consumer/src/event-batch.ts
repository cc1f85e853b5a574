import { MAX_QUEUE_ATTEMPTS, QueuedEvent } from '@triggers/event-schema';
import type { EventWrites } from '@triggers/event-store';
import { describeError, type Logger } from '@triggers/log';
import * as v from 'valibot';
import { tryCommit, writeByTenant } from './commit.ts';
import {
  type DeadLetter,
  deadEventOf,
  deadLetterOf,
  type EventLetter,
  fitsOnQueue,
  recordUnreadableLetters,
  sendDeadLetters,
} from './dead-letter.ts';
import { sendFanOut } from './delivery/fan-out.ts';
import { describeIssues } from './describe.ts';
import type { ConsumerEnv } from './env.ts';
import { BatchOutcome } from './outcome.ts';

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

const byKind = <S extends { kind: string }, K extends S['kind']>(steps: readonly S[], kind: K) =>
  steps.filter((step): step is Extract<S, { kind: K }> => step.kind === kind);

/** A step its tenant's store records: an event to store, a failed attempt, a dead event. */
type TenantStep =
  | Extract<Step, { kind: 'store' | 'fail' }>
  | (Extract<Step, { kind: 'dead_letter' }> & { event: QueuedEvent; letter: EventLetter });

const eventOf = (step: TenantStep): string => step.event.api_key_id;

/** One tenant's steps as the one `writeEvents` call of its store. */
function tenantWrites(share: TenantStep[]): EventWrites {
  return {
    delivered: byKind(share, 'store').map(({ event, message }) => ({ event, attempts: message.attempts })),
    retry: byKind(share, 'fail').map(({ event, message, reason }) => ({
      event,
      attempts: message.attempts,
      error: reason,
    })),
    failed: byKind(share, 'dead_letter').map(({ letter }) => deadEventOf(letter)),
  };
}

/**
 * Handles a batch of `event-queue`:
 * - each body is validated; a malformed one is dead-lettered with its reason, alone;
 * - `dlq_routing` events are dead-lettered unprocessed, `processing_error` ones fail (retried
 *   with backoff until Cloudflare moves them to `event-dlq`), every other event is stored;
 * - each tenant's share of the batch (stored events, failed attempts, dead letters too large to
 *   travel) goes to that tenant's store in one call, every tenant at once; an unreadable dead
 *   letter too large to travel goes to D1's `dead_letters`; dead letters go to `event-dlq`
 *   alongside;
 * - the stored events of tenants with subscriptions are handed to the dispatcher to fan out
 *   (delivery/fan-out.ts): a few messages, whatever the subscriptions; if the queue refuses them,
 *   those events' messages are retried;
 * - each message is then acked or retried on its own; when a tenant's store fails, every message
 *   of that tenant that needed it is retried, and nothing else.
 * The size of each tenant's store is watched by the store itself (tenant-store.ts).
 */
export async function processEventBatch(
  batch: MessageBatch<unknown>,
  env: ConsumerEnv,
  log: Logger,
): Promise<void> {
  const now = new Date();
  const outcome = new BatchOutcome(log, batch, MAX_QUEUE_ATTEMPTS, 'dead_letter');
  const steps = batch.messages.map((message) => plan(batch.queue, message));
  const letters = byKind(steps, 'dead_letter');
  const toSend = letters.filter((step) => fitsOnQueue(step.letter));
  const toRecord = letters.filter((step) => !fitsOnQueue(step.letter));
  // What each tenant's store records: events to store, failed attempts, dead events.
  const forTenants: TenantStep[] = [
    ...byKind(steps, 'store'),
    ...byKind(steps, 'fail'),
    ...toRecord.flatMap((step) =>
      step.letter.kind === 'event' ? [{ ...step, event: step.letter.event, letter: step.letter }] : [],
    ),
  ];
  const unreadable = toRecord.flatMap((step) =>
    step.letter.kind === 'unreadable' ? [{ ...step, letter: step.letter }] : [],
  );

  const [shares, recorded, unsent] = await Promise.all([
    writeByTenant(env, forTenants, eventOf, tenantWrites, now),
    tryCommit(env.DB, [
      recordUnreadableLetters(
        env.DB,
        unreadable.map((step) => step.letter),
        now,
      ),
    ]),
    sendDeadLetters(
      env.EVENT_DLQ,
      toSend.map((step) => step.letter),
    ),
  ]);

  // Fanned out together: the stored events (duplicates included) of every subscribed tenant.
  const fannedOut = shares.flatMap((share) =>
    share.ok && share.written.subscribed ? byKind(share.items, 'store') : [],
  );
  const unsentDeliveries = await sendFanOut(
    env.DELIVERY_QUEUE,
    fannedOut.map(({ event }) => event),
  ).then(
    () => undefined,
    (err: unknown) => `delivery-queue refused the fan-out: ${describeError(err)}`,
  );

  for (const share of shares) {
    if (!share.ok) {
      for (const step of share.items) outcome.retry(step.message, step.event, share.reason);
      continue;
    }
    const toStore = byKind(share.items, 'store');
    if (unsentDeliveries !== undefined && share.written.subscribed) {
      for (const { message, event } of toStore) outcome.retry(message, event, unsentDeliveries);
    } else {
      outcome.storedOnce(
        toStore.map(({ message, event }) => ({ message, key: event.event_id })),
        new Set(share.written.delivered),
      );
    }
    for (const { message, event, reason } of byKind(share.items, 'fail'))
      outcome.retry(message, event, reason);
    for (const { message, event, reason } of byKind(share.items, 'dead_letter'))
      outcome.deadLettered(message, event, reason);
  }
  for (const { message, reason } of unreadable) {
    if (recorded.ok) outcome.deadLettered(message, undefined, reason);
    else outcome.retry(message, undefined, recorded.reason);
  }
  for (const { message, event, reason, letter } of toSend) {
    const failure = unsent.get(letter);
    if (failure === undefined) outcome.deadLettered(message, event, reason);
    else outcome.retry(message, event, failure);
  }
  outcome.finish();
}
