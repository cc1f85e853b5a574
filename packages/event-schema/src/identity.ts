import * as v from 'valibot';
import { MAX_IDENTITY_LENGTH } from './limits.ts';
import { TRIGGERS_SOURCE } from './operational.ts';

/**
 * What kind of event it is and who produced it: `type`, `source` and an optional `subject`, the
 * CloudEvents 1.0 attributes of the same names. Every stored event has a type and a source,
 * whichever way it arrived; {@link eventIdentity} is the one place that says what an event
 * without them (sent through the JSON API without them, or queued before they existed) gets.
 */

/** The `type` of an event that came without one: a JSON API event that named no type. */
export const DEFAULT_EVENT_TYPE = 'triggers.event';

/** The `source` of an event that came without one: the API key that sent it, as a URI-reference. */
export const defaultEventSource = (apiKeyId: string): string => `/api-keys/${apiKeyId}`;

// RFC 3986: unreserved, reserved and percent-encoded characters only (so no spaces, no non-ASCII)…
const URI_CHARACTERS = /^(?:[A-Za-z0-9\-._~:/?#[\]@!$&'()*+,;=]|%[0-9A-Fa-f]{2})*$/;
// …and a scheme, if the text has one, is a letter then letters, digits, + - . (a relative
// reference's first segment cannot hold a colon, so a colon before any / ? # ends a scheme).
const SCHEME_PART = /^([^/?#:]*):/;
const SCHEME = /^[A-Za-z][A-Za-z0-9+.-]*$/;

/** Whether `text` is a URI-reference (RFC 3986 section 4.1): an absolute URI or a relative reference. */
export function isUriReference(text: string): boolean {
  if (!URI_CHARACTERS.test(text)) return false;
  const scheme = SCHEME_PART.exec(text)?.[1];
  return scheme === undefined || SCHEME.test(scheme);
}

/**
 * The check that a string is well-formed Unicode: a lone surrogate cannot be stored as UTF-8 (it
 * would become U+FFFD, and the event's type would no longer be the one sent). Applied to what a
 * client sends (`EventRequest`, CloudEvents), not to queue messages: one accepted before the
 * check is stored as it was.
 */
export const wellFormed = v.check(
  (text: string) => !/\p{Cs}/u.test(text),
  'must be well-formed Unicode (no lone surrogates)',
);

/** The length bound of `type`, `source` and `subject`, wherever an event's identity is read. */
export const identityLength = (what: string) =>
  v.maxLength<string, typeof MAX_IDENTITY_LENGTH, string>(
    MAX_IDENTITY_LENGTH,
    `must be at most ${MAX_IDENTITY_LENGTH} characters (${what})`,
  );

const bounded = (what: string) =>
  v.pipe(v.string(`must be a string`), v.minLength(1, 'must not be empty'), identityLength(what));

/** An event's kind, e.g. `order.created`. Reverse-DNS prefixes (`com.example.order.created`) are customary. */
export const EventType = bounded('the event type');
export type EventType = v.InferOutput<typeof EventType>;

/** The check that a string is a URI-reference; named so that the OpenAPI document can show it as a format. */
export const uriReference = v.check(
  isUriReference,
  'must be a URI-reference (RFC 3986), e.g. "/orders" or "https://shop.example"',
);

/** Who produced the event: a non-empty URI-reference, e.g. `https://shop.example/orders` or `/orders`. */
export const EventSource = v.pipe(bounded('the event source'), uriReference);
export type EventSource = v.InferOutput<typeof EventSource>;

/**
 * The sources only Triggers sends from: {@link TRIGGERS_SOURCE}, the source of its operational
 * events, and every reference under that path (`/triggers/…`, `/triggers?…`, `/triggers#…`), kept
 * for whatever Triggers may send later. Compared as written, as sources are everywhere
 * (`/Triggers` and `/api/triggers` are ordinary sources).
 */
export const RESERVED_SOURCE = new RegExp(`^${TRIGGERS_SOURCE}(?:[/?#]|$)`);

/** Whether `source` is one only Triggers sends from ({@link RESERVED_SOURCE}). */
export const isReservedSource = (source: string): boolean => RESERVED_SOURCE.test(source);

/**
 * The check that a client's event does not claim a reserved source, so that an event from
 * `/triggers` is always Triggers' own (named so that JSON Schema can show it as a `not` pattern).
 */
export const notReservedSource = v.check(
  (source: string) => !isReservedSource(source),
  `is reserved for the events Triggers sends itself (${TRIGGERS_SOURCE} and anything under it): ` +
    'name a source of your own, e.g. "/orders"',
);

/**
 * The `source` a client may send an event from (`POST /events`, its batch, every CloudEvents
 * mode): an {@link EventSource} that is not reserved. What is queued, stored and read back is an
 * EventSource, so Triggers' own events pass everywhere else.
 */
export const ClientEventSource = v.pipe(EventSource, notReservedSource);
export type ClientEventSource = v.InferOutput<typeof ClientEventSource>;

/** What the event is about within its source, e.g. an order number. */
export const EventSubject = bounded('the event subject');
export type EventSubject = v.InferOutput<typeof EventSubject>;

/** An event's identity as stored: type and source always, subject when given. */
export interface EventIdentity {
  type: string;
  source: string;
  subject: string | null;
}

/** The identity an event is stored with: its own fields, or the defaults where it has none. */
export function eventIdentity(event: {
  api_key_id: string;
  type?: string | undefined;
  source?: string | undefined;
  subject?: string | undefined;
}): EventIdentity {
  return {
    type: event.type ?? DEFAULT_EVENT_TYPE,
    source: event.source ?? defaultEventSource(event.api_key_id),
    subject: event.subject ?? null,
  };
}
