import {
  BatchAccepted,
  BatchRequest,
  DebugFlag,
  EventAccepted,
  EventRequest,
  HealthStatus,
  IdempotencyKey,
  MAX_BATCH_BYTES,
  MAX_BATCH_EVENTS,
  MAX_EVENT_BYTES,
} from '@triggers/event-schema';
import * as v from 'valibot';
import { OpenApiDocument, openApiDocument, type ParameterSpec, type RouteSpec } from '../lib/openapi.ts';
import { json } from '../lib/responses.ts';
import { postEventBatch } from './batch.ts';
import { postEvent } from './events.ts';
import { health } from './health.ts';

const CONTENT_ENCODING: ParameterSpec = {
  in: 'header',
  name: 'Content-Encoding',
  description: 'Send the body compressed; its size limit applies to the decompressed bytes.',
  schema: v.picklist(['gzip', 'deflate', 'identity']),
};

const DEBUG: ParameterSpec = {
  in: 'query',
  name: 'debug',
  description: 'Failure rehearsal, for test keys (sk_test_…) only.',
  schema: DebugFlag,
};

const SEND_ERRORS = [
  'INVALID_JSON',
  'INVALID_ENCODING',
  'VALIDATION_ERROR',
  'DEBUG_NOT_ALLOWED',
  'PAYLOAD_TOO_LARGE',
  'UNSUPPORTED_MEDIA_TYPE',
  'SERVICE_UNAVAILABLE',
] as const;

let document: OpenApiDocument | undefined;

/**
 * Every route of the API, in one list: the router registers exactly these (src/router.ts) and
 * `GET /openapi.json` describes exactly these.
 */
export const ROUTES: readonly RouteSpec[] = [
  {
    method: 'GET',
    path: '/health',
    operationId: 'getHealth',
    summary: 'Check that the Worker and its bindings answer',
    description: 'Reads the API key store and checks the queue binding; 503 when either is missing.',
    authenticated: false,
    response: HealthStatus,
    errors: ['SERVICE_UNAVAILABLE'],
    handler: health,
  },
  {
    method: 'POST',
    path: '/events',
    operationId: 'sendEvent',
    summary: 'Send one event',
    description:
      `A body of at most ${MAX_EVENT_BYTES} bytes (decompressed). Answered 200 once the event is on the queue. ` +
      'With an Idempotency-Key, the same key always gets the same event_id and the event is stored once.',
    authenticated: true,
    parameters: [
      {
        in: 'header',
        name: 'Idempotency-Key',
        description: 'Makes retries safe: the same key from the same API key yields the same event_id.',
        schema: IdempotencyKey,
      },
      CONTENT_ENCODING,
      DEBUG,
    ],
    body: EventRequest,
    response: EventAccepted,
    errors: SEND_ERRORS,
    handler: postEvent,
  },
  {
    method: 'POST',
    path: '/events/batch',
    operationId: 'sendEventBatch',
    summary: `Send up to ${MAX_BATCH_EVENTS} events`,
    description:
      `1 to ${MAX_BATCH_EVENTS} events in a body of at most ${MAX_BATCH_BYTES} bytes (decompressed). Each item ` +
      'is accepted or rejected on its own, in request order; 200 once every accepted item is on the queue, ' +
      '400 (with every item’s reason in details.results) when none is valid, 503 when the queue fails ' +
      '(nothing acknowledged: retry the whole batch, which is safe for items with an idempotency_key).',
    authenticated: true,
    parameters: [CONTENT_ENCODING, DEBUG],
    body: BatchRequest,
    response: BatchAccepted,
    errors: SEND_ERRORS,
    handler: postEventBatch,
  },
  {
    method: 'GET',
    path: '/openapi.json',
    operationId: 'getOpenApi',
    summary: 'This document',
    description: 'The OpenAPI 3.1 description of this API, generated from its valibot schemas.',
    authenticated: false,
    response: OpenApiDocument,
    errors: [],
    // Built on first use and kept for the isolate's life: only this route pays for it.
    handler: () => {
      document ??= openApiDocument(ROUTES);
      return json(200, document);
    },
  },
];
