import * as v from 'valibot';

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
