import {
  DEFAULT_DELIVERY_TIMEOUT_MS,
  DEFAULT_DISABLE_AFTER_FAILED_DELIVERIES,
  DeliveryMessage,
  deliverySchedule,
  MAX_DELIVERY_DELAY_SECONDS,
  retryDelay,
  type WebhookEvent,
  webhookUrlProblem,
} from '@triggers/event-schema';
import { abandonDelivery, type DeliveryWork, loadDeliveryWork, recordAttempt } from '@triggers/event-store';
import { describeError, type Logger } from '@triggers/log';
import * as v from 'valibot';
import type { ConsumerEnv } from '../env.ts';
import { queueRetryDelaySeconds } from '../queue-retry.ts';
import { attemptDelivery } from './attempt.ts';
import { signatureHeader } from './sign.ts';

/**
 * The dispatcher: the consumer of `delivery-queue`. Each message is one attempt of one delivery;
 * the messages of a batch are attempted concurrently, each bounded by the timeout, so a slow
 * subscriber holds up no one but itself (and, at worst, its batch-mates for one timeout). A
 * failed attempt is not a queue retry: the dispatcher records it and sends the next attempt as a
 * new message, delayed by the schedule (or the subscriber's Retry-After), so the queue's own
 * retries are left for the dispatcher's own failures (D1 down).
 */

/** The body every subscriber receives: the event, as JSON. */
export function webhookBody(work: DeliveryWork): string {
  const { event } = work;
  const body: WebhookEvent = {
    event_id: event.event_id,
    type: event.type,
    source: event.source,
    subject: event.subject,
    timestamp: event.received_at,
    payload: JSON.parse(event.payload),
    metadata: event.metadata === null ? null : JSON.parse(event.metadata),
  };
  return JSON.stringify(body);
}

interface Settings {
  schedule: readonly number[];
  timeoutMs: number;
  disableAfter: number;
  local: boolean;
}

function settingsOf(env: ConsumerEnv): Settings {
  const timeoutMs = Number(env.DELIVERY_TIMEOUT_MS);
  const disableAfter = Number(env.DELIVERY_DISABLE_AFTER);
  return {
    schedule: deliverySchedule(env.DELIVERY_SCHEDULE),
    timeoutMs: timeoutMs > 0 ? timeoutMs : DEFAULT_DELIVERY_TIMEOUT_MS,
    disableAfter: disableAfter > 0 ? disableAfter : DEFAULT_DISABLE_AFTER_FAILED_DELIVERIES,
    local: env.ENVIRONMENT === 'development',
  };
}

async function dispatchOne(
  message: Message<unknown>,
  env: ConsumerEnv,
  settings: Settings,
  log: Logger,
): Promise<void> {
  const parsed = v.safeParse(DeliveryMessage, message.body);
  if (!parsed.success) {
    log.log('error', 'unreadable delivery message dropped', { message_id: message.id });
    return message.ack();
  }
  const job = parsed.output;
  const now = new Date();
  const work = await loadDeliveryWork(env.DB, job, now);
  // Gone, settled, or already past this attempt: a duplicate or stale message.
  if (work === null || work.status !== 'pending' || work.round !== job.round) return message.ack();
  if (work.attempts === job.attempt) {
    // This attempt was recorded but its successor never queued (the send failed): queue it now.
    const wait =
      work.next_attempt_at === null ? 0 : (Date.parse(work.next_attempt_at) - now.getTime()) / 1000;
    await env.DELIVERY_QUEUE.send(
      { ...job, attempt: job.attempt + 1 },
      { delaySeconds: Math.max(0, Math.ceil(wait)) },
    );
    return message.ack();
  }
  if (work.attempts !== job.attempt - 1) return message.ack();

  const key = { apiKeyId: job.api_key_id, deliveryId: job.delivery_id, round: job.round };
  const sub = work.subscription;
  const unusable =
    sub === null
      ? 'subscription deleted'
      : !sub.enabled
        ? 'subscription disabled'
        : webhookUrlProblem(sub.url, { local: settings.local });
  if (sub === null || unusable !== undefined) {
    await abandonDelivery(env.DB, key, `not attempted: ${unusable}`, now);
    return message.ack();
  }

  const body = webhookBody(work);
  const timestamp = Math.floor(now.getTime() / 1000);
  const outcome = await attemptDelivery(
    sub.url,
    body,
    {
      'content-type': 'application/json',
      'user-agent': 'Triggers-Webhooks/1.0',
      'webhook-id': work.id,
      'webhook-timestamp': String(timestamp),
      'webhook-signature': await signatureHeader(sub.secrets, work.id, timestamp, body),
    },
    settings.timeoutMs,
  );
  const scheduled = outcome.ok ? undefined : retryDelay(settings.schedule, job.attempt + 1);
  const delay =
    scheduled === undefined
      ? undefined
      : Math.min(MAX_DELIVERY_DELAY_SECONDS, Math.max(scheduled, outcome.retryAfter ?? 0));
  const status = outcome.ok ? 'succeeded' : delay === undefined ? 'failed' : 'pending';
  const moved = await recordAttempt(
    env.DB,
    {
      apiKeyId: job.api_key_id,
      deliveryId: job.delivery_id,
      subscriptionId: sub.id,
      round: job.round,
      attempt: job.attempt,
      attemptedAt: now,
      httpStatus: outcome.httpStatus,
      error: outcome.error,
      latencyMs: outcome.latencyMs,
      responseExcerpt: outcome.excerpt,
      status,
      nextAttemptAt: delay === undefined ? null : new Date(Date.now() + delay * 1000),
      disableAfter: settings.disableAfter,
    },
    new Date(),
  );
  log.log(outcome.ok ? 'info' : 'warn', 'delivery attempt', {
    delivery_id: job.delivery_id,
    event_id: work.event_id,
    subscription_id: sub.id,
    round: job.round,
    attempt: job.attempt,
    http_status: outcome.httpStatus ?? undefined,
    error: outcome.error ?? undefined,
    latency_ms: outcome.latencyMs,
    status,
    next_in_s: delay,
  });
  if (moved && delay !== undefined) {
    await env.DELIVERY_QUEUE.send({ ...job, attempt: job.attempt + 1 }, { delaySeconds: delay });
  }
  message.ack();
}

/** Handles a batch of `delivery-queue`: every message at once, each settled on its own. */
export async function processDeliveryBatch(
  batch: MessageBatch<unknown>,
  env: ConsumerEnv,
  log: Logger,
): Promise<void> {
  const settings = settingsOf(env);
  await Promise.all(
    batch.messages.map(async (message) => {
      try {
        await dispatchOne(message, env, settings, log);
      } catch (err) {
        // The store or the queue failed (a subscriber's failure never throws): try again later.
        log.log('error', 'delivery dispatch failed', { message_id: message.id, error: describeError(err) });
        message.retry({ delaySeconds: queueRetryDelaySeconds(message.attempts) });
      }
    }),
  );
}
