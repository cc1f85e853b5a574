import {
  type AttemptMessage,
  DELIVERY_QUEUE_CONSUMER,
  DeliveryQueueMessage,
  type WebhookEvent,
} from '@triggers/event-schema';
import { type DeliveryWork, tenantStore } from '@triggers/event-store';
import { describeError, type Logger, type LogLevel } from '@triggers/log';
import { webhookBody, webhookUrlProblem } from '@triggers/webhooks';
import * as v from 'valibot';
import type { ConsumerEnv } from '../env.ts';
import { queueRetryDelaySeconds } from '../queue-retry.ts';
import { type Settings, settingsOf } from '../settings.ts';
import { type AttemptOutcome, attemptDelivery } from './attempt.ts';
import { fanOutEvents } from './fan-out.ts';
import { operationalEvents } from './operational.ts';
import { attemptDelaySeconds } from './schedule.ts';
import { webhookHeaders } from './sign.ts';

/**
 * The dispatcher: the consumer of `delivery-queue`. A message is either a fan-out (create some
 * events' deliveries, fan-out.ts) or one attempt of one delivery. The messages of a batch run
 * concurrently, each bounded by the attempt timeout, so a slow subscriber holds up no one but
 * itself. A failed attempt is not a queue retry: the dispatcher records it and queues the next
 * attempt as a new message, delayed by the schedule (schedule.ts), so the queue's own retries are
 * left for the dispatcher's own failures (a tenant's store or the queue down).
 *
 * An attempt message goes through {@link nextStep}, the state machine in one place: from the
 * delivery as stored, it decides to skip the message, queue a lost successor, end the delivery
 * without an attempt, or attempt it. One clock (`clock`, read when the message is taken and when
 * the attempt ends) stamps the webhook, the attempt and the next attempt's due time.
 */

/** What to do with one attempt message. */
export type Step =
  /** Nothing to do (a duplicate, a stale message, a settled delivery): ack it. */
  | { kind: 'skip'; reason: string; level: LogLevel }
  /** The attempt was recorded but its successor never queued (the send failed): queue it now. */
  | { kind: 'queue_next'; delaySeconds: number }
  /** The attempt ended the delivery failed, but its operational events may never have been sent: send them. */
  | { kind: 'announce' }
  /** End the delivery `failed` without attempting it. */
  | { kind: 'abandon'; reason: string; level: LogLevel }
  /** Make the attempt. */
  | {
      kind: 'attempt';
      subscription: NonNullable<DeliveryWork['subscription']>;
      event: NonNullable<DeliveryWork['event']>;
    };

/**
 * The step for attempt message `job`, given its delivery as stored (`work`, null when there is
 * none). `redelivered`: the queue has handed this very message over before (our own failure), so
 * an attempt it finds recorded may be missing its successor. `now` in milliseconds.
 */
export function nextStep(
  job: AttemptMessage,
  work: DeliveryWork | null,
  { redelivered, now, local }: { redelivered: boolean; now: number; local: boolean },
): Step {
  if (work === null)
    return { kind: 'skip', reason: 'no such delivery (purged with its event)', level: 'warn' };
  if (redelivered && work.status === 'failed' && work.round === job.round && work.attempts === job.attempt) {
    return { kind: 'announce' };
  }
  if (work.status !== 'pending') return { kind: 'skip', reason: `already ${work.status}`, level: 'debug' };
  if (work.round !== job.round) return { kind: 'skip', reason: `round ${job.round} is over`, level: 'debug' };
  if (work.attempts === job.attempt) {
    if (!redelivered) return { kind: 'skip', reason: 'attempt already made', level: 'debug' };
    const due = work.next_attempt_at === null ? now : Date.parse(work.next_attempt_at);
    return { kind: 'queue_next', delaySeconds: Math.max(0, Math.ceil((due - now) / 1000)) };
  }
  if (work.attempts !== job.attempt - 1) {
    return { kind: 'skip', reason: `attempt ${job.attempt} is out of turn`, level: 'debug' };
  }
  // Retention keeps an event while a delivery of it is pending; this is a bug or a hand edit.
  if (work.event === null) return { kind: 'abandon', reason: 'event no longer stored', level: 'error' };
  const sub = work.subscription;
  if (sub === null) return { kind: 'abandon', reason: 'subscription deleted', level: 'info' };
  if (!sub.enabled) return { kind: 'abandon', reason: 'subscription disabled', level: 'info' };
  const problem = webhookUrlProblem(sub.url, { local });
  if (problem !== undefined) return { kind: 'abandon', reason: `url refused: ${problem}`, level: 'warn' };
  return { kind: 'attempt', subscription: sub, event: work.event };
}

/** The webhook every subscriber receives unless its subscription transforms it: the event. */
export function webhookEvent(event: NonNullable<DeliveryWork['event']>): WebhookEvent {
  return {
    event_id: event.event_id,
    type: event.type,
    source: event.source,
    subject: event.subject,
    timestamp: event.received_at,
    payload: JSON.parse(event.payload),
    metadata: event.metadata === null ? null : JSON.parse(event.metadata),
  };
}

/** The outcome of an attempt whose body could not be made: recorded, retried on the schedule like any failure. */
const notSent = (error: string): AttemptOutcome => ({
  ok: false,
  httpStatus: null,
  error,
  latencyMs: 0,
  excerpt: null,
  retryAfterSeconds: undefined,
});

/** Everything the dispatcher works with. */
interface Dispatcher {
  env: ConsumerEnv;
  settings: Settings;
  log: Logger;
  clock: () => number;
}

/** Handles one attempt message; throws only when the store or the queue fails. */
async function dispatchAttempt(message: Message<unknown>, job: AttemptMessage, d: Dispatcher): Promise<void> {
  const { env, settings, log, clock } = d;
  const now = clock();
  // The delivery's tenant is the message's key: its store is the only one the message can reach.
  const store = tenantStore(env.TENANTS, job.api_key_id).era(job.era);
  const work = await store.loadDeliveryWork(job, new Date(now));
  const step = nextStep(job, work, { redelivered: message.attempts > 1, now, local: settings.local });
  const ids = {
    delivery_id: job.delivery_id,
    event_id: work?.event_id,
    round: job.round,
    attempt: job.attempt,
  };
  switch (step.kind) {
    case 'skip':
      log.log(step.level, 'delivery message skipped', { ...ids, reason: step.reason });
      return message.ack();
    case 'queue_next':
      await env.DELIVERY_QUEUE.send(
        { ...job, attempt: job.attempt + 1 },
        { delaySeconds: step.delaySeconds },
      );
      return message.ack();
    case 'announce':
      await announceEnded(job, d);
      return message.ack();
    case 'abandon': {
      const key = { apiKeyId: job.api_key_id, deliveryId: job.delivery_id, round: job.round };
      await store.abandonDelivery(key, `not attempted: ${step.reason}`, new Date(now));
      log.log(step.level, 'delivery abandoned', { ...ids, reason: step.reason });
      return message.ack();
    }
    case 'attempt':
      break;
  }

  const { subscription: sub, event } = step;
  // The signature covers the body as delivered: the transformed one when there is a transformation
  // (run again on every attempt, so a corrected expression serves the next one).
  const made = await webhookBody(webhookEvent(event), sub.transform);
  const outcome =
    'error' in made
      ? notSent(made.error)
      : await attemptDelivery(
          {
            url: sub.url,
            headers: await webhookHeaders(sub.secrets, job.delivery_id, new Date(now), made.body),
            body: made.body,
            timeoutMs: settings.delivery.timeoutMs,
          },
          clock,
        );
  const ended = now + outcome.latencyMs;
  const delay = outcome.ok
    ? undefined
    : attemptDelaySeconds(settings.delivery.schedule, job.attempt + 1, outcome.retryAfterSeconds);
  const status = outcome.ok ? 'succeeded' : delay === undefined ? 'failed' : 'pending';
  const moved = await store.recordAttempt(
    {
      apiKeyId: job.api_key_id,
      deliveryId: job.delivery_id,
      subscriptionId: sub.id,
      round: job.round,
      attempt: job.attempt,
      attemptedAt: new Date(now),
      httpStatus: outcome.httpStatus,
      error: outcome.error,
      latencyMs: outcome.latencyMs,
      responseExcerpt: outcome.excerpt,
      status,
      nextAttemptAt: delay === undefined ? null : new Date(ended + delay * 1000),
      disableAfter: settings.delivery.disableAfter,
    },
    new Date(ended),
  );
  log.log(outcome.ok ? 'info' : 'warn', 'delivery attempt', {
    ...ids,
    subscription_id: sub.id,
    http_status: outcome.httpStatus ?? undefined,
    // A transformation's message can quote the event's data: the log keeps only its code.
    error: 'error' in made ? `transformation failed (${made.code})` : (outcome.error ?? undefined),
    latency_ms: outcome.latencyMs,
    status,
    next_in_s: delay,
  });
  if (moved && delay !== undefined) {
    await env.DELIVERY_QUEUE.send({ ...job, attempt: job.attempt + 1 }, { delaySeconds: delay });
  }
  // Before the ack: should the send fail, the message comes back as `announce` (operational.ts).
  if (moved && status === 'failed') await announceEnded(job, d);
  message.ack();
}

/**
 * Sends the operational events of the delivery `job` ended failed, as the store tells it; nothing
 * when it no longer ended so. Throws when the store or the queue fails.
 */
async function announceEnded(job: AttemptMessage, { env, log }: Dispatcher): Promise<void> {
  const store = tenantStore(env.TENANTS, job.api_key_id).era(job.era);
  const ended = await store.deliveryEnded({
    apiKeyId: job.api_key_id,
    deliveryId: job.delivery_id,
    round: job.round,
    attempt: job.attempt,
  });
  if (ended === null) return;
  const events = await operationalEvents(job.api_key_id, ended);
  await env.EVENT_QUEUE.sendBatch(events.map((body) => ({ body })));
  log.log('info', 'operational events sent', {
    delivery_id: job.delivery_id,
    subscription_id: ended.exhausted.subscription_id,
    events: events.map((e) => `${e.type} ${e.event_id}`).join(', '),
  });
}

/**
 * Handles a batch of `delivery-queue`: every message at once, each settled on its own. `clock`
 * (milliseconds since the epoch) is the dispatcher's one clock; tests pass their own.
 */
export async function processDeliveryBatch(
  batch: MessageBatch<unknown>,
  env: ConsumerEnv,
  log: Logger,
  clock: () => number = Date.now,
): Promise<void> {
  const dispatcher: Dispatcher = { env, settings: settingsOf(env), log, clock };
  // The attempts this batch has taken already. Two messages of one attempt (an event fanned out
  // twice before its first attempt ran, a successor queued twice) would otherwise both send it,
  // at once: the store records one attempt, but the endpoint would get two requests.
  const taken = new Set<string>();
  await Promise.all(
    batch.messages.map(async (message) => {
      const parsed = v.safeParse(DeliveryQueueMessage, message.body);
      if (!parsed.success) {
        log.log('error', 'unreadable delivery message dropped', { message_id: message.id });
        return message.ack();
      }
      try {
        if ('fan_out' in parsed.output) {
          await fanOutEvents(parsed.output, env, log, new Date(clock()));
          return message.ack();
        }
        const { api_key_id, delivery_id, round, attempt } = parsed.output;
        const key = `${api_key_id}/${delivery_id}/${round}/${attempt}`;
        if (taken.has(key)) return message.ack();
        taken.add(key);
        await dispatchAttempt(message, parsed.output, dispatcher);
      } catch (err) {
        // The store or the queue failed (a subscriber's failure never throws): try again later.
        // After the last retry the queue deletes the message, and its delivery stays pending:
        // that line names it for the operator (docs/architecture.md, "Known gaps").
        const last = message.attempts > DELIVERY_QUEUE_CONSUMER.maxRetries;
        log.log(
          'error',
          last ? 'delivery message dropped: its retries ran out' : 'delivery dispatch failed',
          {
            message_id: message.id,
            api_key_id: parsed.output.api_key_id,
            ...('fan_out' in parsed.output
              ? { fan_out: parsed.output.fan_out.length }
              : { delivery_id: parsed.output.delivery_id }),
            attempt: message.attempts,
            error: describeError(err),
          },
        );
        message.retry({ delaySeconds: queueRetryDelaySeconds(message.attempts) });
      }
    }),
  );
}
