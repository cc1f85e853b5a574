import {
  DELIVERY_EXHAUSTED_TYPE,
  nameBasedUuid,
  type QueuedEvent,
  SUBSCRIPTION_DISABLED_TYPE,
  TRIGGERS_SOURCE,
} from '@triggers/event-schema';
import type { DeliveryEnded } from '@triggers/event-store';

/**
 * Operational events (issue 22; the types and payloads are event-schema's operational.ts): when a
 * delivery ends failed, its tenant gets `triggers.delivery.exhausted`, and `triggers.subscription.
 * disabled` when that failure disabled the subscription. They go to `event-queue` as ordinary
 * QueuedEvents, so they are stored in the tenant's store, shown in its inbox and fanned out like any
 * event (never to the subscription they are about: their subject, see FAN_OUT).
 *
 * Once, whatever fails: the dispatcher derives them only from what the store holds after the
 * delivery's conditional move to `failed` (`deliveryEnded`), with ids derived from what they are
 * about, and sends them before it acks the attempt message. If the send fails the message is
 * retried, and the redelivered message, finding its attempt recorded and the delivery failed,
 * derives and sends the same events again (`announce` in dispatch.ts); should both sends have
 * reached the queue, the store keeps one event per id.
 */

/** An operational event's id: the same for the same fact, another for another tenant, type or fact. */
const operationalEventId = (apiKeyId: string, type: string, ...fact: (string | number)[]) =>
  nameBasedUuid(JSON.stringify(['operational/v1', apiKeyId, type, ...fact]));

/** The operational events of a delivery that ended failed in the tenant `apiKeyId`. */
export async function operationalEvents(apiKeyId: string, ended: DeliveryEnded): Promise<QueuedEvent[]> {
  const { exhausted, disabled } = ended;
  const event = (
    type: string,
    eventId: string,
    payload: QueuedEvent['payload'],
    at: string,
  ): QueuedEvent => ({
    event_id: eventId,
    type,
    source: TRIGGERS_SOURCE,
    subject: exhausted.subscription_id,
    payload,
    timestamp: at,
    // The delivery's id: what an operator greps for in the dispatcher's log lines.
    correlation_id: exhausted.delivery_id,
    api_key_id: apiKeyId,
  });
  const events = [
    event(
      DELIVERY_EXHAUSTED_TYPE,
      await operationalEventId(apiKeyId, DELIVERY_EXHAUSTED_TYPE, exhausted.delivery_id, exhausted.round),
      exhausted,
      exhausted.failed_at,
    ),
  ];
  if (disabled !== null) {
    const id = await operationalEventId(
      apiKeyId,
      SUBSCRIPTION_DISABLED_TYPE,
      disabled.subscription_id,
      disabled.disabled_at,
    );
    events.push(event(SUBSCRIPTION_DISABLED_TYPE, id, disabled, disabled.disabled_at));
  }
  return events;
}
