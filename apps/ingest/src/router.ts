import { type IRequest, Router } from 'itty-router';
import type { HandlerArgs, IngestRequest } from './context.ts';
import type { RouteSpec } from './lib/openapi.ts';
import { finishResponse, toErrorResponse } from './lib/responses.ts';
import { withApiKey } from './middleware/auth.ts';
import { withCorrelation } from './middleware/correlation.ts';
import { withBudget, withRateLimit } from './middleware/rate-limit.ts';
import { methodNotAllowed, notFound } from './routes/fallback.ts';
import { ROUTES } from './routes/index.ts';
import { operatorRouter } from './routes/operator.ts';

/**
 * The API's router, built from {@link ROUTES}: each route (behind authentication, the key's
 * rate limit and the route's own budget when it needs an API key), then 405 for its path's other
 * methods, then 404.
 */
export const router = Router<IngestRequest, HandlerArgs>({
  before: [withCorrelation],
  // itty-router types these hooks with its generic IRequest; `withCorrelation` has already
  // turned every request into an IngestRequest by the time they run.
  catch: (err: unknown, request: IRequest) => toErrorResponse(err, request as IngestRequest),
  finally: [finishResponse],
});

// Each path's routes and then its 405, path after path in ROUTES order, which decides matching
// (see ROUTES): a fixed path keeps its own answers, its 405 for other methods included.
const routesByPath = new Map<string, RouteSpec[]>();
for (const route of ROUTES) routesByPath.set(route.path, [...(routesByPath.get(route.path) ?? []), route]);
for (const [path, routes] of routesByPath) {
  for (const route of routes) {
    const budget = route.authenticated && route.budget ? [withBudget(route.budget)] : [];
    const handlers = route.authenticated
      ? [withApiKey, withRateLimit, ...budget, route.handler]
      : [route.handler];
    const method = route.method.toLowerCase() as Lowercase<RouteSpec['method']>;
    router[method](path, ...handlers);
  }
  router.all(path, methodNotAllowed(...routes.map((route) => route.method)));
}
// The operator's routes (routes/operator.ts): not the public API, so not in ROUTES.
router.all('/operator/*', operatorRouter.fetch);
router.all('*', notFound);
