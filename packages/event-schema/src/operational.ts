import * as v from 'valibot';
import { Timestamp } from './envelope.ts';

/**
 * Operational events: what Triggers itself tells a tenant about its webhooks, as events in the
 * tenant's own inbox, of the types below, from {@link TRIGGERS_SOURCE}, with the subscription they
 * are about as their `subject`. They are stored and delivered like any event, to every other
 * subscription whose types and filter match, never to the subscription they are about. Their
 * payloads are below (and in `json-schema/`); docs/webhooks.md#operational-events is the guide.
 */

/**
 * The `source` of every operational event: Triggers itself. Reserved: no client may send an event
 * from it or from under it (`isReservedSource`, identity.ts), so an event from it is always ours.
 */
export const TRIGGERS_SOURCE = '/triggers';

/** A subscription was disabled because its deliveries kept failing. */
export const SUBSCRIPTION_DISABLED_TYPE = 'triggers.subscription.disabled';
/** A delivery used up its attempts (the schedule's last one failed): it ends `failed`. */
export const DELIVERY_EXHAUSTED_TYPE = 'triggers.delivery.exhausted';

/** Every operational event type, for a subscription's `event_types` (`triggers.*` would also match `triggers.event`). */
export const OPERATIONAL_EVENT_TYPES = [SUBSCRIPTION_DISABLED_TYPE, DELIVERY_EXHAUSTED_TYPE] as const;

/** The failed delivery an operational event tells of (no response body: that stays in the attempts log). */
const FailedDelivery = {
  /** The delivery (`msg_…`): `GET /events/{event_id}/deliveries/{delivery_id}` shows its attempts. */
  delivery_id: v.string(),
  /** The event it was to deliver. */
  event_id: v.pipe(v.string(), v.uuid()),
  /** The round that failed (1 unless the delivery was retried by hand) and its attempts. */
  round: v.pipe(v.number(), v.integer(), v.minValue(1)),
  attempts: v.pipe(v.number(), v.integer(), v.minValue(1)),
  /** The last attempt's outcome: `HTTP 503`, `timeout after 5000 ms`, … */
  last_error: v.nullable(v.string()),
  /** When the last attempt ended. */
  failed_at: Timestamp,
};

/** The payload of `triggers.delivery.exhausted`. */
export const DeliveryExhaustedPayload = v.object({
  subscription_id: v.string(),
  /** The URL the delivery was made to. */
  url: v.string(),
  ...FailedDelivery,
});
export type DeliveryExhaustedPayload = v.InferOutput<typeof DeliveryExhaustedPayload>;

/** The payload of `triggers.subscription.disabled`. */
export const SubscriptionDisabledPayload = v.object({
  subscription_id: v.string(),
  /** The subscription's URL when it was disabled. */
  url: v.string(),
  /** The subscription's `disabled_reason`, e.g. `disabled after 5 failed deliveries in a row`. */
  reason: v.string(),
  /** Deliveries that had ended failed in a row when it was disabled. */
  consecutive_failures: v.pipe(v.number(), v.integer(), v.minValue(1)),
  disabled_at: Timestamp,
  /** The delivery whose failure disabled it. */
  last_delivery: v.object(FailedDelivery),
});
export type SubscriptionDisabledPayload = v.InferOutput<typeof SubscriptionDisabledPayload>;

/** The payload schema of each operational event type, for `createEventParser`. */
export const OPERATIONAL_PAYLOADS = {
  [SUBSCRIPTION_DISABLED_TYPE]: SubscriptionDisabledPayload,
  [DELIVERY_EXHAUSTED_TYPE]: DeliveryExhaustedPayload,
} as const;
