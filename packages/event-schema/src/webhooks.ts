import * as v from 'valibot';
import { SuccessEnvelope, Timestamp } from './envelope.ts';
import { EventTypePattern } from './event-type-pattern.ts';
import { JsonObject, JsonValue } from './json.ts';
import { MAX_FILTER_BYTES, MAX_FILTER_DEPTH, MAX_TRANSFORM_CHARS } from './limits.ts';

/**
 * Subscriptions and webhook deliveries: the API's shapes, the `delivery-queue` messages and the
 * body every webhook carries. How deliveries are attempted (schedule, timeout, the URL rules) is
 * runtime policy and lives with the Workers (`@triggers/webhooks`, `apps/consumer/src/delivery`).
 * docs/webhooks.md is the user's guide to all of it.
 */

/** How long a secret replaced by a rotation keeps signing, in seconds (24 h). */
export const SECRET_ROTATION_OVERLAP_SECONDS = 86_400;
/** The most of a subscriber's response body kept in the attempts log. */
export const MAX_RESPONSE_EXCERPT_CHARS = 256;

// --- API shapes ------------------------------------------------------------------------------

const EventTypes = v.pipe(
  v.array(EventTypePattern, 'must be an array of event types'),
  v.minLength(1, 'must list at least one type (leave it out for every event)'),
  v.maxLength(100, 'must list at most 100 types'),
);

const WebhookUrl = v.pipe(
  v.string('must be a string'),
  v.maxLength(2_048, 'must be at most 2048 characters'),
);

/**
 * A subscription's filter: a JSON document of conditions over the event (`payload`, `metadata`,
 * `type`, `source`, `subject`) with the operators `$eq $neq $gt $gte $lt $lte $in $nin $exist
 * $regex $or $and` (docs/webhooks.md#filters). Only its shape is checked here; its operators and
 * paths, and its limits ({@link MAX_FILTER_BYTES}, {@link MAX_FILTER_DEPTH}), are checked by the
 * API when a subscription is created or changed (400 naming the operator or path).
 */
export const SubscriptionFilter = v.pipe(
  JsonObject,
  v.description(
    'Conditions over the event (payload, metadata, type, source, subject) with $eq $neq $gt $gte $lt ' +
      `$lte $in $nin $exist $regex $or $and; at most ${MAX_FILTER_BYTES} bytes as JSON and ` +
      `${MAX_FILTER_DEPTH} levels deep. Only events it matches are delivered.`,
  ),
);
export type SubscriptionFilter = v.InferOutput<typeof SubscriptionFilter>;

/**
 * A subscription's transformation: a JSONata expression over the webhook's body
 * ({@link WebhookEvent}) whose result is delivered instead. Its syntax is checked by the API.
 */
export const SubscriptionTransform = v.pipe(
  v.string('must be a string'),
  v.minLength(1, 'must not be empty (null removes the transformation)'),
  v.maxLength(MAX_TRANSFORM_CHARS, `must be at most ${MAX_TRANSFORM_CHARS} characters`),
  v.description(
    'A JSONata expression over the webhook body (WebhookEvent); its result, as JSON, is the body delivered and signed.',
  ),
);

/** `POST /subscriptions`. The URL's rules depend on the environment and are checked by the route. */
export const SubscriptionRequest = v.strictObject({
  url: WebhookUrl,
  event_types: v.optional(v.nullable(EventTypes)),
  filter: v.optional(v.nullable(SubscriptionFilter)),
  transform: v.optional(v.nullable(SubscriptionTransform)),
});
export type SubscriptionRequest = v.InferOutput<typeof SubscriptionRequest>;

/**
 * `PATCH /subscriptions/{id}`: any of url, event_types (null = every event), filter (null = none),
 * transform (null = none) and enabled.
 */
export const SubscriptionPatch = v.strictObject({
  url: v.optional(WebhookUrl),
  event_types: v.optional(v.nullable(EventTypes)),
  filter: v.optional(v.nullable(SubscriptionFilter)),
  transform: v.optional(v.nullable(SubscriptionTransform)),
  enabled: v.optional(v.boolean('must be true or false')),
});
export type SubscriptionPatch = v.InferOutput<typeof SubscriptionPatch>;

/** A subscription id as the API hands them out. */
export const SubscriptionId = v.pipe(
  v.string(),
  v.regex(/^sub_[0-9a-f]{24}$/, 'must be a subscription id (sub_…)'),
);
/** A delivery id as the API hands them out; also the `webhook-id` of every attempt. */
export const DeliveryId = v.pipe(v.string(), v.regex(/^msg_[0-9a-f]{24}$/, 'must be a delivery id (msg_…)'));

/** A subscription as the API shows it: never its secret, only the secret's first characters. */
export const Subscription = v.object({
  id: v.string(),
  url: v.string(),
  /** null: every event. */
  event_types: v.nullable(v.array(v.string())),
  /** Only events this matches are delivered; null: every event of its types. */
  filter: v.nullable(JsonObject),
  /** The JSONata expression whose result is delivered instead of the event; null: the event as it is. */
  transform: v.nullable(v.string()),
  enabled: v.boolean(),
  /** Why it is disabled (`too many failed deliveries…`, `disabled by the API`), null while enabled. */
  disabled_reason: v.nullable(v.string()),
  /** Deliveries that ended failed in a row; reaching the threshold disables it. */
  consecutive_failures: v.pipe(v.number(), v.integer()),
  secret_prefix: v.string(),
  /**
   * Until when the secrets replaced by rotations still sign (the last rotation's overlap), or null
   * when none does. Each replaced secret signs for {@link SECRET_ROTATION_OVERLAP_SECONDS}.
   */
  previous_secret_expires_at: v.nullable(Timestamp),
  created_at: Timestamp,
  updated_at: Timestamp,
});
export type Subscription = v.InferOutput<typeof Subscription>;

/** A subscription with its signing secret in full: the answer of create and rotate-secret only. */
export const SubscriptionWithSecret = v.object({ ...Subscription.entries, secret: v.string() });
export type SubscriptionWithSecret = v.InferOutput<typeof SubscriptionWithSecret>;

export const SubscriptionDetails = SuccessEnvelope(Subscription);
export const SubscriptionCreated = SuccessEnvelope(SubscriptionWithSecret);
/** A page of `GET /subscriptions`, oldest first. `next_cursor` is null when there is no more. */
export const SubscriptionList = SuccessEnvelope(
  v.object({ subscriptions: v.array(Subscription), next_cursor: v.nullable(v.string()) }),
);
export const SubscriptionDeleted = SuccessEnvelope(v.object({ id: v.string(), deleted: v.literal(true) }));

/** Where a delivery stands: `pending` while attempts remain, then `succeeded` or `failed`. */
export const DeliveryStatus = v.picklist(['pending', 'succeeded', 'failed']);
export type DeliveryStatus = v.InferOutput<typeof DeliveryStatus>;

/** One attempt: when, what came back (HTTP status, or the error), how long it took. */
export const DeliveryAttempt = v.object({
  round: v.number(),
  attempt: v.number(),
  attempted_at: Timestamp,
  http_status: v.nullable(v.number()),
  error: v.nullable(v.string()),
  latency_ms: v.number(),
  /** At most {@link MAX_RESPONSE_EXCERPT_CHARS} characters of the response body. */
  response_excerpt: v.nullable(v.string()),
});
export type DeliveryAttempt = v.InferOutput<typeof DeliveryAttempt>;

export const Delivery = v.object({
  id: v.string(),
  event_id: v.string(),
  subscription_id: v.string(),
  url: v.string(),
  status: DeliveryStatus,
  /** Manual retries start a new round (1 is the automatic one). */
  round: v.number(),
  /** Attempts in the current round. */
  attempts: v.number(),
  next_attempt_at: v.nullable(Timestamp),
  last_error: v.nullable(v.string()),
  created_at: Timestamp,
  updated_at: Timestamp,
  attempt_log: v.array(DeliveryAttempt),
});
export type Delivery = v.InferOutput<typeof Delivery>;

export const DeliveryList = SuccessEnvelope(v.object({ deliveries: v.array(Delivery) }));
export const DeliveryDetails = SuccessEnvelope(Delivery);

/** A `delivery-queue` message asking for attempt `attempt` of round `round` of one delivery. */
export const AttemptMessage = v.object({
  api_key_id: v.string(),
  delivery_id: v.string(),
  round: v.pipe(v.number(), v.integer(), v.minValue(1)),
  attempt: v.pipe(v.number(), v.integer(), v.minValue(1)),
});
export type AttemptMessage = v.InferOutput<typeof AttemptMessage>;

/**
 * A `delivery-queue` message asking for the deliveries of some stored events of one key: one per
 * matching subscription, each then queued as its first {@link AttemptMessage}. The consumer sends
 * it once a batch of events is stored, so that fanning out (and a tenant's many subscriptions)
 * happens apart from storing, one key at a time.
 */
export const FanOutMessage = v.object({
  api_key_id: v.string(),
  fan_out: v.pipe(v.array(v.pipe(v.string(), v.uuid())), v.minLength(1)),
});
export type FanOutMessage = v.InferOutput<typeof FanOutMessage>;

/** Everything `delivery-queue` carries. */
export const DeliveryQueueMessage = v.union([AttemptMessage, FanOutMessage]);
export type DeliveryQueueMessage = v.InferOutput<typeof DeliveryQueueMessage>;

/**
 * The body of every webhook: what a subscriber receives, as JSON, signed per Standard Webhooks.
 * The same on every attempt of a delivery. A receiver parses it with this schema (or its JSON
 * Schema, `json-schema/webhook-event.json`) after verifying the signature.
 */
export const WebhookEvent = v.object({
  event_id: v.pipe(v.string(), v.uuid()),
  /** What kind of event it is (`triggers.event` when it was sent without one). */
  type: v.string(),
  /** Who produced it (`/api-keys/<key id>` when it was sent without one). */
  source: v.string(),
  subject: v.nullable(v.string()),
  /** When the ingest Worker accepted it. */
  timestamp: Timestamp,
  /** The event's payload object, or a CloudEvent's data. */
  payload: JsonValue,
  metadata: v.nullable(JsonObject),
});
export type WebhookEvent = v.InferOutput<typeof WebhookEvent>;
