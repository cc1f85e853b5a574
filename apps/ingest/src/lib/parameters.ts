import { DebugFlag, DeliveryId, EventId, IdempotencyKey, SubscriptionId } from '@triggers/event-schema';
import * as v from 'valibot';
import type { IngestRequest } from '../context.ts';
import { ACCEPTED_CODINGS } from './body.ts';
import { validate } from './validate.ts';

/**
 * Every header, query and path parameter a route names, in one place: its name, its schema and
 * what the OpenAPI document says of it. A handler reads one with {@link readParameter}, through
 * the same spec, so what is documented is what is checked. (`GET /inbox`'s query parameters are
 * the entries of its query schema, `InboxQuery`; `queryParameters` turns them into specs.)
 */

type ParameterIn = 'header' | 'query' | 'path';

/** A header, query or path parameter a route reads (a path parameter is always required). */
export interface ParameterSpec<
  TSchema extends v.GenericSchema = v.GenericSchema,
  TIn extends ParameterIn = ParameterIn,
> {
  in: TIn;
  name: string;
  description: string;
  schema: TSchema;
}

/**
 * A parameter of the request, parsed with its spec's schema: 400 `VALIDATION_ERROR` at
 * `path.<name>`, `query.<name>` or `headers.<name>` when it does not fit. A header or query
 * parameter that is absent is `undefined`; a path parameter is there whenever its route matched.
 */
export function readParameter<TSchema extends v.GenericSchema, TIn extends ParameterIn>(
  request: IngestRequest,
  spec: ParameterSpec<TSchema, TIn>,
): TIn extends 'path' ? v.InferOutput<TSchema> : v.InferOutput<TSchema> | undefined {
  const raw =
    spec.in === 'path'
      ? request.params[spec.name]
      : spec.in === 'query'
        ? request.query[spec.name]
        : (request.headers.get(spec.name) ?? undefined);
  if (raw === undefined && spec.in !== 'path') return undefined as never;
  const root = spec.in === 'header' ? 'headers' : spec.in;
  return validate(spec.schema, raw, `${root}.${spec.name.toLowerCase()}`);
}

/** The `{event_id}` of the paths of one event (`/events/{event_id}…`, `/inbox/{event_id}/…`). */
export const EVENT_ID = {
  in: 'path',
  name: 'event_id',
  description: 'The event_id that POST /events (or /events/batch) answered.',
  schema: EventId,
} satisfies ParameterSpec;

/** The `{delivery_id}` of a delivery's paths. */
export const DELIVERY_ID = {
  in: 'path',
  name: 'delivery_id',
  description: 'A delivery id (msg_…) from GET /events/{event_id}/deliveries; also its webhook-id.',
  schema: DeliveryId,
} satisfies ParameterSpec;

/** The `{subscription_id}` of the paths of one subscription. */
export const SUBSCRIPTION_ID = {
  in: 'path',
  name: 'subscription_id',
  description: 'The id POST /subscriptions answered (sub_…).',
  schema: SubscriptionId,
} satisfies ParameterSpec;

/** `Idempotency-Key` of `POST /events` (a batch item carries its own `idempotency_key`). */
export const IDEMPOTENCY_KEY = {
  in: 'header',
  name: 'Idempotency-Key',
  description: 'Makes retries safe: the same key from the same API key yields the same event_id.',
  schema: IdempotencyKey,
} satisfies ParameterSpec;

/** `?debug=` of the sending routes (who may use it: `openSubmission`). */
export const DEBUG = {
  in: 'query',
  name: 'debug',
  description: 'Failure rehearsal, for test keys (sk_test_…) only.',
  schema: DebugFlag,
} satisfies ParameterSpec;

/** `Content-Encoding` of the sending routes; read by `readBodyBytes`, which also takes `x-gzip`. */
export const CONTENT_ENCODING = {
  in: 'header',
  name: 'Content-Encoding',
  description: 'Send the body compressed; its size limit applies to the decompressed bytes.',
  schema: v.picklist(ACCEPTED_CODINGS),
} satisfies ParameterSpec;

/**
 * The binary-mode headers of a CloudEvent (any other `ce-<name>` header is an extension), read
 * by `fromBinary`.
 */
export const CE_HEADERS: readonly ParameterSpec[] = [
  ['specversion', 'Binary mode: "1.0". Its presence makes the body the event’s data.'],
  ['id', 'Binary mode: the event’s id; with ce-source, its idempotency key.'],
  ['source', 'Binary mode: a URI-reference.'],
  ['type', 'Binary mode: the event’s type.'],
  ['subject', 'Binary mode, optional.'],
  ['time', 'Binary mode, optional: RFC 3339.'],
  ['dataschema', 'Binary mode, optional: an absolute URI.'],
].map(([name, description]) => ({
  in: 'header',
  name: `ce-${name}`,
  description: `${description} Percent-encoded where the value is not printable ASCII.`,
  schema: v.string(),
}));
