import {
  SECRET_ROTATION_OVERLAP_SECONDS,
  type Subscription,
  SubscriptionId,
  SubscriptionPatch,
  SubscriptionRequest,
  type SubscriptionWithSecret,
  webhookUrlProblem,
} from '@triggers/event-schema';
import {
  createSubscription,
  deleteSubscription,
  getSubscription,
  listSubscriptions,
  rotateSubscriptionSecret,
  type SubscriptionRow,
  toSubscription,
  updateSubscription,
} from '@triggers/event-store';
import type { AuthedRequest } from '../context.ts';
import type { IngestEnv } from '../env.ts';
import { readJsonBody } from '../lib/body.ts';
import { ApiError } from '../lib/errors.ts';
import type { ParameterSpec } from '../lib/openapi.ts';
import { json, ok } from '../lib/responses.ts';
import { fromStore } from '../lib/stored-events.ts';
import { validate } from '../lib/validate.ts';

/**
 * Everything about `/subscriptions`: a key's webhook endpoints (docs/webhooks.md). Another key's
 * subscription answers 404, exactly like one that does not exist.
 */

/** The largest subscription body: a URL and a list of types. */
const MAX_SUBSCRIPTION_BYTES = 64 * 1024;

/** The `{subscription_id}` of the paths of one subscription. */
export const SUBSCRIPTION_ID: ParameterSpec = {
  in: 'path',
  name: 'subscription_id',
  description: 'The id POST /subscriptions answered (sub_…).',
  schema: SubscriptionId,
};

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

const subscriptionKey = (request: AuthedRequest) => ({
  apiKeyId: request.apiKey.id,
  id: validate(SubscriptionId, request.params.subscription_id, 'path.subscription_id'),
});

function found(row: SubscriptionRow | null, id: string): SubscriptionRow {
  if (row !== null) return row;
  throw new ApiError('NOT_FOUND', `This API key has no subscription ${id}.`);
}

const withSecret = (row: SubscriptionRow): SubscriptionWithSecret => ({
  ...toSubscription(row),
  secret: row.secret,
});

/** `POST /subscriptions`: 201 with the subscription and its secret, shown in full only here. */
export async function postSubscription(request: AuthedRequest, env: IngestEnv): Promise<Response> {
  const { value } = await readJsonBody(request, MAX_SUBSCRIPTION_BYTES);
  const input = validate(SubscriptionRequest, value);
  const url = checkUrl(input.url, env);
  const row = await fromStore(() =>
    createSubscription(
      env.DB,
      {
        apiKeyId: request.apiKey.id,
        id: `sub_${randomHex(12)}`,
        url,
        eventTypes: input.event_types ?? null,
        secret: newSecret(),
      },
      new Date(),
    ),
  );
  return json(201, { data: withSecret(row), timestamp: new Date().toISOString() });
}

/** `GET /subscriptions`: every subscription of the key, oldest first, without secrets. */
export async function listKeySubscriptions(request: AuthedRequest, env: IngestEnv): Promise<Response> {
  const rows = await fromStore(() => listSubscriptions(env.DB, request.apiKey.id));
  return ok<{ subscriptions: Subscription[] }>({ subscriptions: rows.map(toSubscription) });
}

/** `GET /subscriptions/{id}`. */
export async function getKeySubscription(request: AuthedRequest, env: IngestEnv): Promise<Response> {
  const key = subscriptionKey(request);
  return ok<Subscription>(toSubscription(found(await fromStore(() => getSubscription(env.DB, key)), key.id)));
}

/** `PATCH /subscriptions/{id}`: url, event_types (null: every event), enabled. */
export async function patchSubscription(request: AuthedRequest, env: IngestEnv): Promise<Response> {
  const key = subscriptionKey(request);
  const { value } = await readJsonBody(request, MAX_SUBSCRIPTION_BYTES);
  const patch = validate(SubscriptionPatch, value);
  if (patch.url !== undefined) checkUrl(patch.url, env);
  const row = await fromStore(() =>
    updateSubscription(
      env.DB,
      key,
      {
        ...(patch.url === undefined ? {} : { url: patch.url }),
        ...(patch.event_types === undefined ? {} : { eventTypes: patch.event_types }),
        ...(patch.enabled === undefined ? {} : { enabled: patch.enabled }),
      },
      new Date(),
    ),
  );
  return ok<Subscription>(toSubscription(found(row, key.id)));
}

/** `DELETE /subscriptions/{id}`: no more deliveries; the deliveries made stay in the log. */
export async function removeSubscription(request: AuthedRequest, env: IngestEnv): Promise<Response> {
  const key = subscriptionKey(request);
  const deleted = await fromStore(() => deleteSubscription(env.DB, key));
  if (!deleted) found(null, key.id);
  return ok({ id: key.id, deleted: true });
}

/** `POST /subscriptions/{id}/rotate-secret`: a new secret, shown once; the old one signs on for the overlap. */
export async function rotateSecret(request: AuthedRequest, env: IngestEnv): Promise<Response> {
  const key = subscriptionKey(request);
  const row = await fromStore(() =>
    rotateSubscriptionSecret(env.DB, key, newSecret(), new Date(), SECRET_ROTATION_OVERLAP_SECONDS),
  );
  return ok<SubscriptionWithSecret>(withSecret(found(row, key.id)));
}
