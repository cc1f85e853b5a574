import type { RouteSpec } from '../lib/openapi.ts';
import { replayDeadLettersRoute } from './dlq.ts';
import {
  getEventRoute,
  listEventDeliveriesRoute,
  retryDeliveryRoute,
  sendEventBatchRoute,
  sendEventRoute,
} from './events.ts';
import { getHealthRoute } from './health.ts';
import { ackEventRoute, listInboxRoute, retryEventRoute } from './inbox.ts';
import { getOpenApiRoute } from './openapi.ts';
import { getStatsRoute } from './stats.ts';
import {
  createSubscriptionRoute,
  deleteSubscriptionRoute,
  getSubscriptionRoute,
  listSubscriptionsRoute,
  recoverSubscriptionRoute,
  rotateSubscriptionSecretRoute,
  testStoredSubscriptionRoute,
  testSubscriptionRoute,
  updateSubscriptionRoute,
} from './subscriptions.ts';

/**
 * Every route of the API, in one list: the router registers exactly these (src/router.ts) and
 * `GET /openapi.json` describes exactly these, in this order. Each spec (summary, parameters,
 * schemas, errors, budget) sits beside its handler in the file of its resource: `/events…` in
 * events.ts, `/inbox…` in inbox.ts, `/dlq…` in dlq.ts, `/subscriptions…` in subscriptions.ts,
 * then stats.ts, health.ts and openapi.ts; fallback.ts answers what no route matches.
 *
 * The order decides matching: the router tries paths in this order and takes the first that
 * matches, so a fixed path goes before a parametric one that also matches it
 * (test/routes.test.ts checks that every route is reached by its own path).
 */
export const ROUTES: readonly RouteSpec[] = [
  getHealthRoute,
  sendEventRoute,
  // Before getEventRoute: /events/:event_id also matches /events/batch, which would then answer
  // GET with a 400 for its event_id and POST with a 405.
  sendEventBatchRoute,
  getEventRoute,
  listInboxRoute,
  ackEventRoute,
  retryEventRoute,
  replayDeadLettersRoute,
  getStatsRoute,
  listEventDeliveriesRoute,
  retryDeliveryRoute,
  createSubscriptionRoute,
  listSubscriptionsRoute,
  // Before getSubscriptionRoute: /subscriptions/:subscription_id also matches /subscriptions/test,
  // whose POST would then be a 405.
  testSubscriptionRoute,
  getSubscriptionRoute,
  updateSubscriptionRoute,
  deleteSubscriptionRoute,
  rotateSubscriptionSecretRoute,
  testStoredSubscriptionRoute,
  recoverSubscriptionRoute,
  getOpenApiRoute(() => ROUTES),
];
