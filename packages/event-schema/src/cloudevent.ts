import * as v from 'valibot';
import { identityLength, isUriReference, notReservedSource, uriReference, wellFormed } from './identity.ts';
import { JsonValue } from './json.ts';
import { MAX_BATCH_EVENTS } from './limits.ts';

/**
 * What a stored event keeps of a CloudEvent beyond `type`, `source` and `subject` (which every
 * event has, see identity.ts) and its data (the event's `payload`): the other context
 * attributes, extensions included, so that the event can be given back equal to the one sent.
 * Absent (null in the store) for events sent through the JSON API.
 */

/** How the `payload` of a CloudEvent holds its data. */
export const DataEncoding = v.picklist(['json', 'text', 'base64']);
/**
 * - `json`: the data is JSON (`datacontenttype` absent, `application/json` or `…+json`); the
 *   payload is that JSON value.
 * - `text`: the data is text of another type (XML, plain text, CSV…); the payload is a JSON
 *   string holding it unchanged.
 * - `base64`: the data is bytes (`data_base64`, or a binary-mode body that is not text); the
 *   payload is a JSON string of their base64.
 */
export type DataEncoding = v.InferOutput<typeof DataEncoding>;

/** The value of an extension attribute, in the JSON forms the spec's types take. */
export const CloudEventAttributeValue = v.union([v.string(), v.boolean(), v.pipe(v.number(), v.integer())]);
export type CloudEventAttributeValue = v.InferOutput<typeof CloudEventAttributeValue>;

/** The kept context attributes of a CloudEvent, as queued and stored. */
export const CloudEventContext = v.object({
  specversion: v.literal('1.0'),
  /** The producer's id: with `source`, what identifies the event (and derives its `event_id`). */
  id: v.pipe(v.string(), v.minLength(1)),
  time: v.optional(v.string()),
  datacontenttype: v.optional(v.string()),
  dataschema: v.optional(v.string()),
  /** Every extension attribute, by name, as sent. */
  extensions: v.optional(v.record(v.string(), CloudEventAttributeValue)),
  /** How `payload` holds the data; absent when the event had no data (the payload is then `null`). */
  data_encoding: v.optional(DataEncoding),
});
export type CloudEventContext = v.InferOutput<typeof CloudEventContext>;

/** `application/cloudevents+json`: one CloudEvent in structured mode. */
export const CLOUDEVENTS_JSON = 'application/cloudevents+json';
/** `application/cloudevents-batch+json`: a JSON array of structured CloudEvents. */
export const CLOUDEVENTS_BATCH_JSON = 'application/cloudevents-batch+json';

/** A context attribute's name (CloudEvents 1.0): lower-case ASCII letters and digits only. */
export const ATTRIBUTE_NAME = /^[a-z0-9]+$/;

// RFC 3339 section 5.6 date-time: a full date, `T`, a full time and a zone (`Z` or an offset).
const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.\d+)?(?:[Zz]|[+-](\d{2}):(\d{2}))$/;

/** Whether `text` is an RFC 3339 timestamp naming a real instant (no 30 February, no 25:00). */
export function isRfc3339(text: string): boolean {
  const parts = RFC3339.exec(text);
  if (parts === null || Number.isNaN(Date.parse(text))) return false;
  // An absent zone offset (`Z`) reads as 0.
  const [year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0, zoneHour = 0, zoneMinute = 0] = parts
    .slice(1)
    .map((part) => Number(part ?? 0));
  const date = new Date(Date.UTC(year, month - 1, day));
  return (
    date.getUTCMonth() === month - 1 &&
    date.getUTCDate() === day &&
    hour < 24 &&
    minute < 60 &&
    second < 61 &&
    zoneHour < 24 &&
    zoneMinute < 60
  );
}

/** Whether `text` is an absolute URI: a URI-reference with a scheme. */
export const isAbsoluteUri = (text: string): boolean =>
  isUriReference(text) && /^[A-Za-z][A-Za-z0-9+.-]*:/.test(text);

/** The check that a string is an RFC 3339 timestamp; named so that OpenAPI shows it as `date-time`. */
export const rfc3339 = v.check(isRfc3339, 'must be an RFC 3339 timestamp, e.g. 2026-12-02T10:00:00Z');

/** The check that a string is an absolute URI; named so that OpenAPI shows it as `uri`. */
export const absoluteUri = v.check(isAbsoluteUri, 'must be an absolute URI');

/** Standard base64 (RFC 4648 section 4), padded. */
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** "is required" for a missing attribute, `message` for one of the wrong kind. */
const required =
  (message: string) =>
  (issue: v.BaseIssue<unknown>): string =>
    issue.received === 'undefined' ? 'is required' : message;

const nonEmpty = (name: string) =>
  v.pipe(v.string(required(`must be a string (${name})`)), v.minLength(1, 'must not be empty'));

/** `type` and `subject`: what the queue message's EventType / EventSubject accept (identity.ts). */
const identity = (name: string) => v.pipe(nonEmpty(name), identityLength(name), wellFormed);

/** A CloudEvent's `source`: a non-empty URI-reference. */
const sourceAttribute = v.pipe(
  v.string(required('must be a string')),
  v.minLength(1, 'must not be empty'),
  identityLength('the event source'),
  uriReference,
);

/**
 * A CloudEvent in the JSON event format (structured mode) whose `source` is checked by `source`:
 * the required attributes (`specversion`, `id`, `source`, `type`), the optional ones, `data` or
 * `data_base64`, and any extension attribute as a string, boolean or integer. Each problem is
 * reported at the attribute's name. (Attribute names and `data` with `data_base64` are checked by
 * the ingest Worker, which names the attribute in those cases too.)
 */
const cloudEventWith = (source: v.GenericSchema<string, string>) =>
  v.objectWithRest(
    {
      specversion: v.literal('1.0', required('must be "1.0": this API speaks CloudEvents 1.0')),
      id: nonEmpty('the event id'),
      source,
      type: identity('the event type'),
      subject: v.optional(identity('the subject')),
      time: v.optional(v.pipe(v.string('must be a string'), rfc3339)),
      datacontenttype: v.optional(nonEmpty('a media type, e.g. application/xml')),
      dataschema: v.optional(v.pipe(v.string('must be a string'), absoluteUri)),
      data: v.optional(JsonValue),
      data_base64: v.optional(
        v.pipe(v.string('must be a string'), v.regex(BASE64, 'must be base64 (RFC 4648)')),
      ),
    },
    v.union(
      [v.string(), v.boolean(), v.pipe(v.number(), v.integer())],
      'must be a string, a boolean or an integer (an extension attribute)',
    ),
    // valibot reports a missing attribute with the object's message, at the attribute's path.
    (issue) => (issue.received === 'undefined' ? 'is required' : 'must be a JSON object (a CloudEvent)'),
    // Declared by what it checks, not by valibot's own type for it: with `data` (recursive JSON)
    // beside the extensions' index signature, that type made TypeScript stop at TS2589 ("type
    // instantiation is excessively deep") in the published .d.ts of any project checking libraries.
  ) as v.GenericSchema<unknown, CloudEventJson, v.BaseIssue<unknown>>;

/**
 * A CloudEvent in structured mode, from any source: what `GET /events/{event_id}` answers with
 * `Accept: application/cloudevents+json`, Triggers' own events included.
 */
export const CloudEvent: v.GenericSchema<unknown, CloudEventJson, v.BaseIssue<unknown>> = cloudEventWith(
  sourceAttribute,
);
export type CloudEvent = CloudEventJson;

/**
 * A CloudEvent a client sends (`POST /events` in structured or binary mode, each item of a
 * CloudEvents batch): a {@link CloudEvent} whose `source` is not reserved for Triggers'
 * own events (`notReservedSource`, identity.ts).
 */
export const CloudEventRequest: v.GenericSchema<
  unknown,
  CloudEventJson,
  v.BaseIssue<unknown>
> = cloudEventWith(v.pipe(sourceAttribute, notReservedSource));
export type CloudEventRequest = CloudEventJson;

/**
 * {@link CloudEvent} as code writes one: valibot's inferred type puts `data` under the extensions'
 * index signature, which no object literal with JSON data satisfies. The schema is still the rule.
 */
export interface CloudEventJson {
  specversion: '1.0';
  id: string;
  source: string;
  type: string;
  subject?: string;
  time?: string;
  datacontenttype?: string;
  dataschema?: string;
  data?: JsonValue;
  data_base64?: string;
  /** Extension attributes: strings, booleans or integers. */
  [extension: string]: JsonValue | undefined;
}

/**
 * Body of `POST /events/batch` as `application/cloudevents-batch+json`: a JSON array of 1 to
 * {@link MAX_BATCH_EVENTS} structured CloudEvents, each checked on its own (as {@link CloudEventRequest}).
 */
export const CloudEventBatch = v.pipe(
  v.array(v.unknown(), 'must be a JSON array of CloudEvents'),
  v.minLength(1, 'must contain at least 1 event'),
  v.maxLength(MAX_BATCH_EVENTS, `must contain at most ${MAX_BATCH_EVENTS} events`),
);
export type CloudEventBatch = v.InferOutput<typeof CloudEventBatch>;
