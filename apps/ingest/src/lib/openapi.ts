import type { ErrorCode } from '@triggers/event-schema';
import {
  BatchAccepted,
  BatchItem,
  BatchItemResult,
  BatchRequest,
  CloudEvent,
  CloudEventRequest,
  Delivery,
  DeliveryAttempt,
  ERROR_STATUS,
  ErrorEnvelope,
  EventAccepted,
  EventDetails,
  EventRequest,
  EventStats,
  HealthStatus,
  IdempotencyKey,
  InboxEvent,
  InboxPage,
  JsonObject,
  JsonValue,
  RecoverRequest,
  ReplayRequest,
  ReplayResult,
  Subscription,
  SubscriptionPatch,
  SubscriptionRequest,
  SubscriptionTestRequest,
  SubscriptionTestSample,
  SubscriptionWithSecret,
  TestEvent,
  TestedEvent,
  WebhookEvent,
} from '@triggers/event-schema';
import { jsonSchemaConversion } from '@triggers/event-schema/to-json-schema';
import {
  type ConversionConfig,
  type JsonSchema,
  toJsonSchema,
  toJsonSchemaDefs,
} from '@valibot/to-json-schema';
import type { RequestHandler } from 'itty-router';
import * as v from 'valibot';
import type { AuthedRequest, HandlerArgs, IngestRequest } from '../context.ts';
import { UNAVAILABLE_RETRY_AFTER_SECONDS } from './errors.ts';
import type { ParameterSpec } from './parameters.ts';
import type { RouteBudget } from './rate-limits.ts';

/** The skeleton of an OpenAPI 3.1 document, as `GET /openapi.json` serves it. */
export const OpenApiDocument = v.looseObject({
  openapi: v.literal('3.1.0'),
  info: v.looseObject({ title: v.string(), version: v.string() }),
  paths: v.record(v.string(), v.record(v.string(), v.unknown())),
  components: v.looseObject({ schemas: v.record(v.string(), v.unknown()) }),
});
export type OpenApiDocument = v.InferOutput<typeof OpenApiDocument>;

/**
 * One route of the API: what the router registers and what the OpenAPI document describes, so
 * the two cannot drift apart. Each is declared beside its handler, in `routes/<resource>.ts`;
 * `ROUTES` (routes/index.ts) lists them.
 */
export type RouteSpec = RouteDescription & RouteAccess;

interface RouteDescription {
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  /** The success status: 200 unless said (201 for a creation). */
  status?: 200 | 201;
  path: `/${string}`;
  operationId: string;
  summary: string;
  description: string;
  parameters?: readonly ParameterSpec[];
  /** Schema of the JSON request body, when there is one. */
  body?: v.GenericSchema;
  /** Whether the body may be left out (every field of it optional); `false` unless said. */
  bodyOptional?: boolean;
  /** Other media types the body may be sent as, each with its schema (the CloudEvents modes). */
  otherBodies?: Readonly<Record<string, v.GenericSchema>>;
  /** Schema of the 200 response. */
  response: v.GenericSchema;
  /** Other media types the 200 response comes as, on request (`Accept`), each with its schema. */
  otherResponses?: Readonly<Record<string, v.GenericSchema>>;
  /**
   * Error codes the handler itself answers with (the middleware's are added for `authenticated`).
   * test/route-errors.test.ts derives them from the handler's source and holds this list to it.
   */
  errors: readonly ErrorCode[];
}

/**
 * An authenticated route needs `Authorization: Bearer <key>`: `withApiKey`, then `withRateLimit`
 * for the key, run before its handler, which therefore sees the key.
 */
type RouteAccess =
  | {
      authenticated: true;
      handler: RequestHandler<AuthedRequest, HandlerArgs>;
      /** A lower budget per key than the request limit, for an expensive route (see LIMITS). */
      budget?: RouteBudget;
    }
  | {
      authenticated: false;
      handler: RequestHandler<IngestRequest, HandlerArgs>;
      /** Answers more to a caller holding the operator token (optional: no token, less said). */
      operator?: true;
    };

/** Every schema the document names, under the name it is given in `components.schemas`. */
const SCHEMAS = {
  CloudEvent,
  CloudEventRequest,
  JsonObject,
  JsonValue,
  IdempotencyKey,
  EventRequest,
  BatchItem,
  BatchRequest,
  EventAccepted,
  BatchItemResult,
  BatchAccepted,
  ErrorEnvelope,
  HealthStatus,
  InboxEvent,
  EventDetails,
  InboxPage,
  ReplayRequest,
  ReplayResult,
  EventStats,
  SubscriptionRequest,
  SubscriptionPatch,
  Subscription,
  SubscriptionWithSecret,
  TestEvent,
  SubscriptionTestRequest,
  SubscriptionTestSample,
  WebhookEvent,
  TestedEvent,
  RecoverRequest,
  DeliveryAttempt,
  Delivery,
  OpenApiDocument,
};

// `output`: a query parameter read from text (`limit=50`) is documented as what it is read as
// (an integer from 1 to 1000), from the last schema of its pipeline. The conversion is the one the
// published JSON Schema files use (JsonObject and the like described by hand).
const CONVERSION: ConversionConfig = {
  ...jsonSchemaConversion('output'),
  overrideRef: ({ referenceId }) => `#/components/schemas/${referenceId}`,
};

/** A schema as the document shows it: a `$ref` when it is named in {@link SCHEMAS}. */
function schemaOf(schema: v.GenericSchema): JsonSchema {
  const { $schema, $defs, ...json } = toJsonSchema(schema, { ...CONVERSION, definitions: SCHEMAS });
  return json;
}

const ERROR_RESPONSE_HEADERS: Partial<
  Record<number, Record<string, { description: string; schema: JsonSchema }>>
> = {
  429: {
    'Retry-After': {
      description: 'Seconds to wait: the whole rate-limit period.',
      schema: { type: 'integer' },
    },
    'RateLimit-Limit': { description: 'Requests allowed per period.', schema: { type: 'integer' } },
    'RateLimit-Remaining': { description: 'Always 0 on a 429.', schema: { type: 'integer' } },
    'RateLimit-Policy': { description: '`<limit>;w=<period seconds>`', schema: { type: 'string' } },
  },
  503: {
    'Retry-After': {
      description: `Seconds to wait before retrying: ${UNAVAILABLE_RETRY_AFTER_SECONDS}.`,
      schema: { type: 'integer' },
    },
  },
};

/** What authentication (the key store may be down) and the rate limit add to a route's errors. */
const AUTH_ERRORS: readonly ErrorCode[] = ['UNAUTHORIZED', 'SERVICE_UNAVAILABLE', 'RATE_LIMITED'];

function errorResponses(route: RouteSpec) {
  const codes = new Set([...route.errors, ...(route.authenticated ? AUTH_ERRORS : [])]);
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of codes)
    byStatus.set(ERROR_STATUS[code], [...(byStatus.get(ERROR_STATUS[code]) ?? []), code]);
  const envelope = schemaOf(ErrorEnvelope);
  return Object.fromEntries(
    [...byStatus].map(([status, list]) => [
      String(status),
      {
        description: `Error codes: ${list.join(', ')}.`,
        ...(ERROR_RESPONSE_HEADERS[status] ? { headers: ERROR_RESPONSE_HEADERS[status] } : {}),
        content: { 'application/json': { schema: envelope } },
      },
    ]),
  );
}

/** OpenAPI `content` entries for media types and their schemas. */
function contentOf(bodies: Readonly<Record<string, v.GenericSchema>> | undefined) {
  return Object.fromEntries(
    Object.entries(bodies ?? {}).map(([type, schema]) => [type, { schema: schemaOf(schema) }]),
  );
}

function operation(route: RouteSpec) {
  return {
    operationId: route.operationId,
    summary: route.summary,
    description: route.description,
    security: route.authenticated ? [{ apiKey: [] }] : route.operator ? [{}, { operatorToken: [] }] : [],
    ...(route.parameters
      ? {
          parameters: route.parameters.map((p) => ({
            in: p.in,
            name: p.name,
            required: p.in === 'path',
            description: p.description,
            schema: schemaOf(p.schema),
          })),
        }
      : {}),
    ...(route.body
      ? {
          requestBody: {
            required: !route.bodyOptional,
            content: {
              'application/json': { schema: schemaOf(route.body) },
              ...contentOf(route.otherBodies),
            },
          },
        }
      : {}),
    responses: {
      [String(route.status ?? 200)]: {
        description: route.status === 201 ? 'Created' : 'OK',
        content: {
          'application/json': { schema: schemaOf(route.response) },
          ...contentOf(route.otherResponses),
        },
      },
      ...errorResponses(route),
    },
  };
}

/** A router path (`/events/:event_id`) as OpenAPI writes it (`/events/{event_id}`). */
export const openApiPath = (path: string): string => path.replace(/:(\w+)/g, '{$1}');

/** The OpenAPI 3.1 document of `routes`, its schemas generated from the valibot ones. */
export function openApiDocument(routes: readonly RouteSpec[]): OpenApiDocument {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    const path = openApiPath(route.path);
    paths[path] = { ...paths[path], [route.method.toLowerCase()]: operation(route) };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Triggers ingest API',
      version: '1',
      description: 'Send events to Triggers. Errors share one envelope: {"error": {code, message, ...}}.',
    },
    paths,
    components: {
      schemas: toJsonSchemaDefs(SCHEMAS, CONVERSION),
      securitySchemes: {
        apiKey: {
          type: 'http',
          scheme: 'bearer',
          description: 'An API key: `Authorization: Bearer sk_live_…`.',
        },
        operatorToken: {
          type: 'http',
          scheme: 'bearer',
          description:
            'The operator token (the OPERATOR_TOKEN secret), for operators only: `Authorization: Bearer <token>`.',
        },
      },
    },
  };
}
