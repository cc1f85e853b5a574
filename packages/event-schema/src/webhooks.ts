import * as v from 'valibot';
import { SuccessEnvelope, Timestamp } from './envelope.ts';
import { bodyMessage } from './event.ts';
import { EventTypePattern } from './event-type-pattern.ts';
import { EventSource, EventSubject, EventType } from './identity.ts';
import { TimeBound } from './inbox.ts';
import { JsonObject, JsonValue } from './json.ts';
import {
  DEFAULT_REPLAY_LIMIT,
  DEFAULT_TEST_EVENTS,
  MAX_FILTER_BYTES,
  MAX_FILTER_DEPTH,
  MAX_RECOVER_LIMIT,
  MAX_TEST_EVENTS,
  MAX_TEST_EVENTS_BYTES,
  MAX_TRANSFORM_CHARS,
} from './limits.ts';

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
  /**
   * The start of the tenant's era whose store holds the delivery (event-store's eras.ts); absent
   * for the tenant's first store, its head.
   */
  era: v.optional(v.pipe(v.string(), v.isoTimestamp())),
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

// --- Trying a subscription, recovering its deliveries --------------------------------------------

/**
 * An event given to the tester instead of stored ones: a payload, and whatever else the test
 * needs. Absent fields are what a `POST /events` without them stores: type `triggers.event`,
 * source `/api-keys/<key id>`, no subject or metadata; a new event_id and the time of the test.
 */
export const TestEvent = v.strictObject(
  {
    payload: JsonValue,
    metadata: v.optional(v.nullable(JsonObject)),
    type: v.optional(EventType),
    source: v.optional(EventSource),
    subject: v.optional(v.nullable(EventSubject)),
  },
  bodyMessage,
);
export type TestEvent = v.InferOutput<typeof TestEvent>;

/** Which events to try: the ones given, or the key's latest `limit` stored ones. */
const testSample = {
  events: v.optional(
    v.pipe(
      v.array(TestEvent, 'must be an array of events'),
      v.minLength(1, 'must hold at least one event (leave it out to try stored ones)'),
      v.maxLength(MAX_TEST_EVENTS, `must hold at most ${MAX_TEST_EVENTS} events`),
      v.description(
        `Events to try, at most ${MAX_TEST_EVENTS} (and ${MAX_TEST_EVENTS_BYTES} bytes of body); ` +
          'leave it out to try the latest stored ones.',
      ),
    ),
  ),
  limit: v.optional(
    v.pipe(
      v.number('must be a number'),
      v.integer('must be a whole number'),
      v.minValue(1, 'must be at least 1'),
      v.maxValue(MAX_TEST_EVENTS, `must be at most ${MAX_TEST_EVENTS}`),
      v.description(
        `How many of the key's latest stored events to try when no events are given; ${DEFAULT_TEST_EVENTS} when not given.`,
      ),
    ),
  ),
};

/**
 * Body of `POST /subscriptions/test`: a draft subscription's event_types, filter and
 * transformation (each optional, as on create), tried on `events` or on the key's latest stored
 * ones. Nothing is stored and nothing is delivered.
 */
export const SubscriptionTestRequest = v.strictObject(
  {
    event_types: v.optional(v.nullable(EventTypes)),
    filter: v.optional(v.nullable(SubscriptionFilter)),
    transform: v.optional(v.nullable(SubscriptionTransform)),
    ...testSample,
  },
  bodyMessage,
);
export type SubscriptionTestRequest = v.InferOutput<typeof SubscriptionTestRequest>;

/** Body of `POST /subscriptions/{id}/test`: the subscription's own rules, tried on these events (optional). */
export const SubscriptionTestSample = v.strictObject(testSample, bodyMessage);
export type SubscriptionTestSample = v.InferOutput<typeof SubscriptionTestSample>;

/** One event tried: whether it would be delivered, and the body it would carry (or why none). */
export const TestedEvent = v.object({
  /** The event as the subscription sees it: what it is delivered as without a transformation. */
  event: WebhookEvent,
  matched: v.boolean(),
  /** What stopped it (`event_types`, then `filter`), null when it matched. */
  excluded_by: v.nullable(v.picklist(['event_types', 'filter'])),
  /** The body it would be delivered with (the transformation's result), null when none. */
  body: v.nullable(JsonValue),
  /** Why a matched event would have no body: the transformation failed on it (as the attempt's log says). */
  error: v.nullable(v.string()),
  // Declared by what it checks, as CloudEvent is: valibot's own type for an object holding both
  // WebhookEvent and recursive JSON made TypeScript stop at TS2589 in the published .d.ts.
}) as v.GenericSchema<unknown, TestedEvent, v.BaseIssue<unknown>>;
/** {@link TestedEvent}'s type, written out (see there). */
export interface TestedEvent {
  event: WebhookEvent;
  matched: boolean;
  excluded_by: 'event_types' | 'filter' | null;
  body: JsonValue | null;
  error: string | null;
}

/** What `POST /subscriptions/test` and `/subscriptions/{id}/test` answer, in the events' order (stored: newest first). */
export const SubscriptionTestResult = SuccessEnvelope(
  v.object({
    /** `stored`: the key's latest stored events; `given`: the request's. */
    events_from: v.picklist(['stored', 'given']),
    matched: v.pipe(v.number(), v.integer(), v.minValue(0)),
    results: v.array(TestedEvent),
  }),
);
export type SubscriptionTestResult = v.InferOutput<typeof SubscriptionTestResult>;

/**
 * Body of `POST /subscriptions/{id}/recover`: start again every failed delivery of the
 * subscription created in `[since, until)`, oldest first, at most `limit`. (That `since` comes
 * before `until` is checked by the API.)
 */
export const RecoverRequest = v.strictObject(
  {
    since: v.pipe(TimeBound, v.description('Only deliveries created at or after this instant.')),
    until: v.optional(v.pipe(TimeBound, v.description('Only deliveries created before this instant.'))),
    limit: v.optional(
      v.pipe(
        v.number('must be a number'),
        v.integer('must be a whole number'),
        v.minValue(1, 'must be at least 1'),
        v.maxValue(MAX_RECOVER_LIMIT, `must be at most ${MAX_RECOVER_LIMIT}`),
        v.description(`Most deliveries to start again; ${DEFAULT_REPLAY_LIMIT} when not given.`),
      ),
      DEFAULT_REPLAY_LIMIT,
    ),
  },
  bodyMessage,
);
export type RecoverRequest = v.InferOutput<typeof RecoverRequest>;

/** What `POST /subscriptions/{id}/recover` answers: the deliveries started again, and how many failed ones the window still holds. */
export const RecoverResult = SuccessEnvelope(
  v.object({
    recovered: v.pipe(v.number(), v.integer(), v.minValue(0)),
    delivery_ids: v.array(v.string()),
    /** Failed deliveries left in the window past `limit`: call again to take them. */
    remaining: v.pipe(v.number(), v.integer(), v.minValue(0)),
  }),
);
export type RecoverResult = v.InferOutput<typeof RecoverResult>;
