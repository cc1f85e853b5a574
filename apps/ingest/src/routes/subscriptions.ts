import {
  DEFAULT_TEST_EVENTS,
  eventIdentity,
  type JsonObject,
  MAX_RECOVER_LIMIT,
  MAX_SIGNING_SECRETS,
  MAX_SUBSCRIPTIONS_PER_KEY,
  MAX_TEST_EVENTS,
  MAX_TEST_EVENTS_BYTES,
  RecoverRequest,
  RecoverResult,
  SECRET_ROTATION_OVERLAP_SECONDS,
  type Subscription,
  SubscriptionCreated,
  SubscriptionDeleted,
  SubscriptionDetails,
  SubscriptionList,
  SubscriptionPatch,
  SubscriptionRequest,
  SubscriptionTestRequest,
  SubscriptionTestResult,
  SubscriptionTestSample,
  type SubscriptionWithSecret,
  type TestEvent,
  type TestedEvent,
  type WebhookEvent,
} from '@triggers/event-schema';
import { type StoredEvent, type SubscriptionRow, toSubscription } from '@triggers/event-store';
import {
  DEFAULT_ATTEMPT_SCHEDULE,
  FilterError,
  type SubscriptionRules,
  transformProblem,
  translateFilter,
  trySubscription,
  webhookUrlProblem,
} from '@triggers/webhooks';
import * as v from 'valibot';
import type { AuthedRequest } from '../context.ts';
import type { IngestEnv } from '../env.ts';
import { queueFirstAttempts } from '../lib/attempts.ts';
import { JSON_BODY_ERRORS, readJsonBody, readOptionalJsonBody } from '../lib/body.ts';
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
  'limits, or a $regex that could backtrack catastrophically (docs/webhooks.md#regular-expressions), is ' +
  '400 VALIDATION_ERROR at its path (filter.payload.total.$gtx).';

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
  'does not parse, holds a regular expression that could backtrack catastrophically, or pads to a literal ' +
  'width past the output bound is 400 VALIDATION_ERROR at transform. Its result, as JSON, is delivered and signed.';

/**
 * 400 at `transform` unless it parses as JSONata and holds nothing every run would refuse (how it
 * runs on an event is the attempt's business).
 */
function checkTransform(transform: string | null | undefined): void {
  if (transform === undefined || transform === null) return;
  const problem = transformProblem(transform);
  if (problem === undefined) return;
  const { reason, quote } = problem;
  throw invalid([{ path: 'transform', message: quote === undefined ? reason : `${reason}: ${echo(quote)}` }]);
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
  ...toSubscription(row, new Date()),
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
    subscriptions: page.subscriptions.map((row) => toSubscription(row, new Date())),
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
    toSubscription(
      found(await fromStore(() => keyStore(request, env).getSubscription(key)), key.id),
      new Date(),
    ),
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
  return ok<Subscription>(toSubscription(found(row, key.id), new Date()));
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

/** What the tester answers about the events' source, and how many a test tries when none are given. */
const TESTER_RULES =
  `Tries the rules on the events given (at most ${MAX_TEST_EVENTS}, in a body of at most ${MAX_TEST_EVENTS_BYTES} ` +
  `bytes) or, without events, on this key's latest limit (${DEFAULT_TEST_EVENTS} when not given, at most ` +
  `${MAX_TEST_EVENTS}) stored events that were delivered to the key, newest first, fewer when their payloads pass ` +
  `${MAX_TEST_EVENTS_BYTES} bytes. Each result says whether the event would be delivered (excluded_by names what ` +
  'stopped it: event_types, then filter) and the body it would carry, or the error its transformation fails ' +
  'with there (as the attempt log would show it). Decided by the same code as deliveries; nothing is stored or ' +
  'sent. Counts against the inbox pages budget.';

/** The event a given test event stands for: what `POST /events` would have stored, received now. */
function givenEvents(events: readonly TestEvent[], apiKeyId: string): WebhookEvent[] {
  const now = new Date().toISOString();
  return events.map(
    (e): WebhookEvent => ({
      event_id: crypto.randomUUID(),
      ...eventIdentity({
        api_key_id: apiKeyId,
        type: e.type,
        source: e.source,
        subject: e.subject ?? undefined,
      }),
      timestamp: now,
      payload: e.payload,
      metadata: e.metadata ?? null,
    }),
  );
}

/** A stored event as a subscriber receives it (the consumer's dispatcher builds the same from its columns). */
const storedAsWebhook = (e: StoredEvent): WebhookEvent => ({
  event_id: e.event_id,
  type: e.type,
  source: e.source,
  subject: e.subject,
  timestamp: e.received_at,
  payload: e.payload,
  metadata: e.metadata,
});

/** Tries `rules` on the sample the request names (its events, or the key's latest stored ones). */
async function answerTest(
  request: AuthedRequest,
  env: IngestEnv,
  rules: SubscriptionRules,
  sample: SubscriptionTestSample,
): Promise<Response> {
  if (sample.events !== undefined && sample.limit !== undefined)
    throw invalid([{ path: 'limit', message: 'only counts stored events: leave it out when giving events' }]);
  let events: WebhookEvent[];
  if (sample.events === undefined) {
    const page = await fromStore(() =>
      keyStore(request, env).listEvents({
        apiKeyId: request.apiKey.id,
        statuses: ['delivered'],
        order: 'desc',
        limit: sample.limit ?? DEFAULT_TEST_EVENTS,
        maxBytes: MAX_TEST_EVENTS_BYTES,
      }),
    );
    events = page.events.map(storedAsWebhook);
  } else {
    events = givenEvents(sample.events, request.apiKey.id);
  }
  const tried = await trySubscription(rules, events);
  const results = tried.map(
    (t, i): TestedEvent => ({
      event: events[i] as WebhookEvent,
      matched: t.matched,
      excluded_by: t.matched ? null : t.excludedBy,
      body: 'body' in t ? (JSON.parse(t.body) as TestedEvent['body']) : null,
      error: 'error' in t ? t.error : null,
    }),
  );
  return ok<SubscriptionTestResult['data']>({
    events_from: sample.events === undefined ? 'stored' : 'given',
    matched: results.filter((r) => r.matched).length,
    results,
  });
}

export const testSubscriptionRoute: RouteSpec = {
  method: 'POST',
  path: '/subscriptions/test',
  operationId: 'testSubscription',
  summary: 'Try event_types, a filter and a transform on events before subscribing',
  description: `${TESTER_RULES} ${FILTER_RULES} A transform that does not parse is 400 VALIDATION_ERROR at transform.`,
  authenticated: true,
  body: SubscriptionTestRequest,
  response: SubscriptionTestResult,
  errors: BODY_ERRORS,
  budget: 'inbox_pages_per_key',
  handler: testDraftSubscription,
};

async function testDraftSubscription(request: AuthedRequest, env: IngestEnv): Promise<Response> {
  const { value } = await readJsonBody(request, MAX_TEST_EVENTS_BYTES);
  const { event_types, filter, transform, ...sample } = validate(SubscriptionTestRequest, value);
  checkFilter(filter);
  checkTransform(transform);
  const rules = { eventTypes: event_types ?? null, filter: filter ?? null, transform: transform ?? null };
  return answerTest(request, env, rules, sample);
}

export const testStoredSubscriptionRoute: RouteSpec = {
  method: 'POST',
  path: '/subscriptions/:subscription_id/test',
  operationId: 'testStoredSubscription',
  summary: 'Try a subscription’s own event_types, filter and transform on events',
  description: `As POST /subscriptions/test, with the subscription's rules. The body may be left out. ${TESTER_RULES}`,
  authenticated: true,
  parameters: [SUBSCRIPTION_ID],
  body: SubscriptionTestSample,
  bodyOptional: true,
  response: SubscriptionTestResult,
  errors: [...BODY_ERRORS, 'NOT_FOUND'],
  budget: 'inbox_pages_per_key',
  handler: testStoredSubscription,
};

async function testStoredSubscription(request: AuthedRequest, env: IngestEnv): Promise<Response> {
  const key = subscriptionKey(request);
  const sample = validate(SubscriptionTestSample, await readOptionalJsonBody(request, MAX_TEST_EVENTS_BYTES));
  const sub = toSubscription(
    found(await fromStore(() => keyStore(request, env).getSubscription(key)), key.id),
    new Date(),
  );
  const rules = { eventTypes: sub.event_types, filter: sub.filter, transform: sub.transform };
  return answerTest(request, env, rules, sample);
}

/** The largest `POST /subscriptions/{id}/recover` body: two instants and a limit. */
const MAX_RECOVER_BODY_BYTES = 4_096;

export const recoverSubscriptionRoute: RouteSpec = {
  method: 'POST',
  path: '/subscriptions/:subscription_id/recover',
  operationId: 'recoverSubscription',
  summary: 'Deliver again every failed delivery of a subscription since a time',
  description:
    `Starts a new round of attempts (as a manual retry does) for up to limit (at most ${MAX_RECOVER_LIMIT}) ` +
    'failed deliveries of this subscription created in [since, until), oldest first, and answers them and how ' +
    'many failed ones the window still holds (remaining: call again). Safe to repeat: only failed deliveries ' +
    'are taken, so one already started again is not queued twice. 409 INVALID_STATE while the subscription is ' +
    'disabled (enable it first); 503 when the queue refuses, and what was not queued stays failed.',
  authenticated: true,
  parameters: [SUBSCRIPTION_ID],
  body: RecoverRequest,
  response: RecoverResult,
  errors: [...BODY_ERRORS, 'NOT_FOUND', 'INVALID_STATE'],
  budget: 'replays_per_key',
  handler: recoverSubscription,
};

async function recoverSubscription(request: AuthedRequest, env: IngestEnv): Promise<Response> {
  const key = subscriptionKey(request);
  const { value } = await readJsonBody(request, MAX_RECOVER_BODY_BYTES);
  const input = validate(RecoverRequest, value);
  if (input.until !== undefined && input.until <= input.since)
    throw invalid([{ path: 'until', message: 'must be after since' }]);
  const store = keyStore(request, env);
  const recovery = await fromStore(() =>
    store.restartFailedDeliveries(
      {
        apiKeyId: key.apiKeyId,
        subscriptionId: key.id,
        since: input.since,
        ...(input.until === undefined ? {} : { until: input.until }),
        limit: input.limit,
      },
      new Date(),
    ),
  );
  if (recovery.subscription === 'not_found') found(null, key.id);
  if (recovery.subscription !== 'enabled')
    throw new ApiError(
      'INVALID_STATE',
      'This subscription is disabled: enable it, then recover its deliveries.',
    );
  await queueFirstAttempts(
    request,
    env,
    store,
    recovery.messages,
    'Deliveries not queued stay failed. Retry later: only failed deliveries are recovered, so none is sent twice.',
  );
  request.log.log('info', 'deliveries recovered', {
    subscription_id: key.id,
    recovered: recovery.messages.length,
    remaining: recovery.remaining,
  });
  return ok<RecoverResult['data']>({
    recovered: recovery.messages.length,
    delivery_ids: recovery.messages.map((m) => m.delivery_id),
    remaining: recovery.remaining,
  });
}
