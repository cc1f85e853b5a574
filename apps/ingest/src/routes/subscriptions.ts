import {
  type JsonObject,
  MAX_SIGNING_SECRETS,
  MAX_SUBSCRIPTIONS_PER_KEY,
  SECRET_ROTATION_OVERLAP_SECONDS,
  type Subscription,
  SubscriptionCreated,
  SubscriptionDeleted,
  SubscriptionDetails,
  SubscriptionList,
  SubscriptionPatch,
  SubscriptionRequest,
  type SubscriptionWithSecret,
} from '@triggers/event-schema';
import { type SubscriptionRow, toSubscription } from '@triggers/event-store';
import {
  DEFAULT_ATTEMPT_SCHEDULE,
  FilterError,
  transformProblem,
  translateFilter,
  webhookUrlProblem,
} from '@triggers/webhooks';
import * as v from 'valibot';
import type { AuthedRequest } from '../context.ts';
import type { IngestEnv } from '../env.ts';
import { JSON_BODY_ERRORS, readJsonBody } from '../lib/body.ts';
import { decodeSubscriptionCursor, encodeSubscriptionCursor } from '../lib/cursor.ts';
import { echo } from '../lib/echo.ts';
import { ApiError } from '../lib/errors.ts';
import type { RouteSpec } from '../lib/openapi.ts';
import { readParameter, SUBSCRIPTION_ID } from '../lib/parameters.ts';
import { limitParameter, once, queryOf, queryParameters, unknownParameter } from '../lib/query.ts';
import { json, ok } from '../lib/responses.ts';
import { fromStore, keyStore } from '../lib/stored-events.ts';
import { invalid, validate } from '../lib/validate.ts';

/**
 * Everything about `/subscriptions`: a key's webhook endpoints (docs/webhooks.md). Another key's
 * subscription answers 404, exactly like one that does not exist. Each route's spec comes before
 * its handler.
 */

/** The largest subscription body: a URL, a list of types, a filter and a transformation. */
const MAX_SUBSCRIPTION_BYTES = 64 * 1024;

/** What the routes reading a subscription body can answer: a bad URL is a VALIDATION_ERROR. */
const BODY_ERRORS = [...JSON_BODY_ERRORS, 'VALIDATION_ERROR', 'SERVICE_UNAVAILABLE'] as const;
/** What the routes naming one subscription in their path can answer. */
const BY_ID_ERRORS = ['VALIDATION_ERROR', 'NOT_FOUND', 'SERVICE_UNAVAILABLE'] as const;

/** What {@link checkUrl} allows, for the specs of the routes that take a url. */
const URL_RULES =
  'The url must be https and name a public host or a public unicast address; loopback, private, ' +
  'link-local, metadata, multicast and reserved addresses, IPv6 forms carrying an IPv4 address, and ' +
  'internal names (localhost, single labels, .internal, .local, with or without a final dot) are refused ' +
  '(400 VALIDATION_ERROR at url). In local development (ENVIRONMENT=development) http://127.0.0.1:<port> ' +
  'and http://localhost:<port> are allowed.';

/** 409 LIMIT_REACHED: the key (or subscription) has as many of something as it may. */
const limitReached = (message: string, limit: number) =>
  new ApiError('LIMIT_REACHED', message, { details: { limit } });

const randomHex = (bytes: number) =>
  [...crypto.getRandomValues(new Uint8Array(bytes))].map((b) => b.toString(16).padStart(2, '0')).join('');

/** A new signing secret: `whsec_` and the base64 of 32 random bytes (Standard Webhooks). */
function newSecret(): string {
  return `whsec_${btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(32))))}`;
}

/** 400 at `url` unless the URL may receive webhooks here (https and public when deployed). */
function checkUrl(url: string, env: IngestEnv): string {
  const problem = webhookUrlProblem(url, { local: env.ENVIRONMENT === 'development' });
  if (problem === undefined) return url;
  throw new ApiError('VALIDATION_ERROR', `The request is invalid: url ${problem}.`, {
    details: { issues: [{ path: 'url', message: problem }] },
  });
}

/** What {@link checkFilter} allows, for the specs of the routes that take a filter. */
const FILTER_RULES =
  'A filter (docs/webhooks.md#filters) is checked here: an unknown operator ($where, $expr and $function ' +
  'included), a path that names no field of the event, an operand of the wrong kind or a filter past its ' +
  'limits is 400 VALIDATION_ERROR at its path (filter.payload.total.$gtx).';

/** 400 at the filter's offending path unless the store's fan-out can evaluate it (@triggers/webhooks). */
function checkFilter(filter: JsonObject | null | undefined): void {
  if (filter === undefined || filter === null) return;
  try {
    translateFilter(filter);
  } catch (err) {
    if (!(err instanceof FilterError)) throw err;
    // The path names the client's own keys: cut like any echo.
    throw invalid([{ path: echo(err.path === '' ? 'filter' : `filter.${err.path}`), message: err.reason }]);
  }
}

/** What {@link checkTransform} allows, for the specs of the routes that take a transform. */
const TRANSFORM_RULES =
  'A transform is a JSONata expression over the webhook body (docs/webhooks.md#transformations); one that ' +
  'does not parse is 400 VALIDATION_ERROR at transform. Its result, as JSON, is delivered and signed.';

/** 400 at `transform` unless it parses as JSONata (how it runs on an event is the attempt's business). */
function checkTransform(transform: string | null | undefined): void {
  if (transform === undefined || transform === null) return;
  const problem = transformProblem(transform);
  if (problem !== undefined)
    throw invalid([{ path: 'transform', message: `is not JSONata: ${echo(problem)}` }]);
}

const subscriptionKey = (request: AuthedRequest) => ({
  apiKeyId: request.apiKey.id,
  id: readParameter(request, SUBSCRIPTION_ID),
});

function found(row: SubscriptionRow | null, id: string): SubscriptionRow {
  if (row !== null) return row;
  throw new ApiError('NOT_FOUND', `This API key has no subscription ${id}.`);
}

const withSecret = (row: SubscriptionRow): SubscriptionWithSecret => ({
  ...toSubscription(row),
  secret: row.secret,
});

export const createSubscriptionRoute: RouteSpec = {
  method: 'POST',
  path: '/subscriptions',
  operationId: 'createSubscription',
  summary: 'Subscribe a webhook URL to this key’s events',
  description:
    'event_types lists exact types and prefix patterns (order.*); leave it out (or null) for every event. ' +
    `filter narrows them to the events it matches. ${FILTER_RULES} ${TRANSFORM_RULES} ` +
    'Answers 201 with the signing secret (whsec_…), shown in full only here and on rotate-secret. ' +
    `Deliveries are retried after ${DEFAULT_ATTEMPT_SCHEDULE.join(', ')} seconds by default. ${URL_RULES} ` +
    `A key has at most ${MAX_SUBSCRIPTIONS_PER_KEY} subscriptions: one more is 409 LIMIT_REACHED.`,
  authenticated: true,
  status: 201,
  body: SubscriptionRequest,
  response: SubscriptionCreated,
  errors: [...BODY_ERRORS, 'LIMIT_REACHED'],
  handler: postSubscription,
};

async function postSubscription(request: AuthedRequest, env: IngestEnv): Promise<Response> {
  const { value } = await readJsonBody(request, MAX_SUBSCRIPTION_BYTES);
  const input = validate(SubscriptionRequest, value);
  const url = checkUrl(input.url, env);
  checkFilter(input.filter);
  checkTransform(input.transform);
  const row = await fromStore(() =>
    keyStore(request, env).createSubscription(
      {
        apiKeyId: request.apiKey.id,
        id: `sub_${randomHex(12)}`,
        url,
        eventTypes: input.event_types ?? null,
        filter: input.filter ?? null,
        transform: input.transform ?? null,
        secret: newSecret(),
      },
      new Date(),
      MAX_SUBSCRIPTIONS_PER_KEY,
    ),
  );
  if (row === null) {
    throw limitReached(
      `This API key has ${MAX_SUBSCRIPTIONS_PER_KEY} subscriptions, the most it may have: delete one first.`,
      MAX_SUBSCRIPTIONS_PER_KEY,
    );
  }
  return json(201, { data: withSecret(row), timestamp: new Date().toISOString() });
}

/** The query of `GET /subscriptions`. */
const SubscriptionsQuery = v.strictObject(
  {
    limit: v.optional(
      v.pipe(
        limitParameter(MAX_SUBSCRIPTIONS_PER_KEY),
        v.description(
          `Most subscriptions per page, ${MAX_SUBSCRIPTIONS_PER_KEY} (every one a key may have) when absent.`,
        ),
      ),
      String(MAX_SUBSCRIPTIONS_PER_KEY),
    ),
    cursor: v.optional(v.pipe(once(v.string()), v.description('The next_cursor of the previous page.'))),
  },
  unknownParameter,
);

export const listSubscriptionsRoute: RouteSpec = {
  method: 'GET',
  path: '/subscriptions',
  operationId: 'listSubscriptions',
  summary: 'List this key’s subscriptions',
  description:
    'Oldest first, without secrets (secret_prefix shows the first characters), paged like the inbox: ' +
    'follow next_cursor until it is null.',
  authenticated: true,
  parameters: queryParameters(SubscriptionsQuery),
  response: SubscriptionList,
  errors: ['VALIDATION_ERROR', 'SERVICE_UNAVAILABLE'],
  handler: listKeySubscriptions,
};

async function listKeySubscriptions(request: AuthedRequest, env: IngestEnv): Promise<Response> {
  const query = validate(SubscriptionsQuery, queryOf(request), 'query');
  const after =
    query.cursor === undefined ? undefined : decodeSubscriptionCursor(query.cursor, 'query.cursor');
  const page = await fromStore(() =>
    keyStore(request, env).listSubscriptions({
      apiKeyId: request.apiKey.id,
      limit: query.limit,
      ...(after ? { after } : {}),
    }),
  );
  return ok<{ subscriptions: Subscription[]; next_cursor: string | null }>({
    subscriptions: page.subscriptions.map(toSubscription),
    next_cursor: page.next === null ? null : encodeSubscriptionCursor(page.next),
  });
}

export const getSubscriptionRoute: RouteSpec = {
  method: 'GET',
  path: '/subscriptions/:subscription_id',
  operationId: 'getSubscription',
  summary: 'Look one subscription up',
  description:
    'Whether it is enabled, why not (disabled_reason), its failed deliveries in a row. 404 for another key’s.',
  authenticated: true,
  parameters: [SUBSCRIPTION_ID],
  response: SubscriptionDetails,
  errors: BY_ID_ERRORS,
  handler: getKeySubscription,
};

async function getKeySubscription(request: AuthedRequest, env: IngestEnv): Promise<Response> {
  const key = subscriptionKey(request);
  return ok<Subscription>(
    toSubscription(found(await fromStore(() => keyStore(request, env).getSubscription(key)), key.id)),
  );
}

export const updateSubscriptionRoute: RouteSpec = {
  method: 'PATCH',
  path: '/subscriptions/:subscription_id',
  operationId: 'updateSubscription',
  summary: 'Change a subscription’s url, event_types, filter, transform or enabled',
  description:
    'Enabling clears disabled_reason and the failure count. filter or transform null removes it. ' +
    `${URL_RULES} ${FILTER_RULES} ${TRANSFORM_RULES}`,
  authenticated: true,
  parameters: [SUBSCRIPTION_ID],
  body: SubscriptionPatch,
  response: SubscriptionDetails,
  errors: [...BODY_ERRORS, 'NOT_FOUND'],
  handler: patchSubscription,
};

/** event_types `null` means every event; filter or transform `null` removes it. */
async function patchSubscription(request: AuthedRequest, env: IngestEnv): Promise<Response> {
  const key = subscriptionKey(request);
  const { value } = await readJsonBody(request, MAX_SUBSCRIPTION_BYTES);
  const patch = validate(SubscriptionPatch, value);
  if (patch.url !== undefined) checkUrl(patch.url, env);
  checkFilter(patch.filter);
  checkTransform(patch.transform);
  const row = await fromStore(() =>
    keyStore(request, env).updateSubscription(
      key,
      {
        ...(patch.url === undefined ? {} : { url: patch.url }),
        ...(patch.event_types === undefined ? {} : { eventTypes: patch.event_types }),
        ...(patch.filter === undefined ? {} : { filter: patch.filter }),
        ...(patch.transform === undefined ? {} : { transform: patch.transform }),
        ...(patch.enabled === undefined ? {} : { enabled: patch.enabled }),
      },
      new Date(),
    ),
  );
  return ok<Subscription>(toSubscription(found(row, key.id)));
}

export const deleteSubscriptionRoute: RouteSpec = {
  method: 'DELETE',
  path: '/subscriptions/:subscription_id',
  operationId: 'deleteSubscription',
  summary: 'Delete a subscription',
  description: 'No more deliveries; pending ones end failed; the deliveries log is kept.',
  authenticated: true,
  parameters: [SUBSCRIPTION_ID],
  response: SubscriptionDeleted,
  errors: BY_ID_ERRORS,
  handler: removeSubscription,
};

async function removeSubscription(request: AuthedRequest, env: IngestEnv): Promise<Response> {
  const key = subscriptionKey(request);
  const deleted = await fromStore(() => keyStore(request, env).deleteSubscription(key));
  if (!deleted) found(null, key.id);
  return ok({ id: key.id, deleted: true });
}

export const rotateSubscriptionSecretRoute: RouteSpec = {
  method: 'POST',
  path: '/subscriptions/:subscription_id/rotate-secret',
  operationId: 'rotateSubscriptionSecret',
  summary: 'Replace the signing secret',
  description:
    'Answers the subscription with its new secret (shown only here). For ' +
    `${SECRET_ROTATION_OVERLAP_SECONDS / 3600} hours the replaced secret keeps signing too, each replaced ` +
    'secret for its own hours, however often the secret is rotated meanwhile: each webhook carries one v1 ' +
    'signature per secret signing, so receivers can switch without losing a message. At most ' +
    `${MAX_SIGNING_SECRETS} secrets sign at once: a rotation past that is 409 LIMIT_REACHED.`,
  authenticated: true,
  parameters: [SUBSCRIPTION_ID],
  response: SubscriptionCreated,
  errors: [...BY_ID_ERRORS, 'LIMIT_REACHED'],
  handler: rotateSecret,
};

async function rotateSecret(request: AuthedRequest, env: IngestEnv): Promise<Response> {
  const key = subscriptionKey(request);
  const rotation = await fromStore(() =>
    keyStore(request, env).rotateSubscriptionSecret(
      key,
      {
        secret: newSecret(),
        overlapSeconds: SECRET_ROTATION_OVERLAP_SECONDS,
        maxSecrets: MAX_SIGNING_SECRETS,
      },
      new Date(),
    ),
  );
  if ('row' in rotation) return ok<SubscriptionWithSecret>(withSecret(rotation.row));
  if (rotation.refused === 'not_found') found(null, key.id);
  throw limitReached(
    `${MAX_SIGNING_SECRETS} secrets sign this subscription's webhooks already (the current one and those ` +
      'replaced within 24 hours): rotate again once the oldest has stopped signing.',
    MAX_SIGNING_SECRETS,
  );
}
