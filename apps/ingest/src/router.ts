import { type IRequest, Router } from 'itty-router';
import type { HandlerArgs, IngestRequest } from './context.ts';
import { finishResponse, toErrorResponse } from './lib/responses.ts';
import { withApiKey } from './middleware/auth.ts';
import { withCorrelation } from './middleware/correlation.ts';
import { withRateLimit } from './middleware/rate-limit.ts';
import { methodNotAllowed, notFound } from './routes/fallback.ts';
import { ROUTES } from './routes/index.ts';

/**
 * The API's router, built from {@link ROUTES}: each route (behind authentication and the key's
 * rate limit when it needs an API key), then 405 for its path's other methods, then 404.
 */
export const router = Router<IngestRequest, HandlerArgs>({
  before: [withCorrelation],
  // itty-router types these hooks with its generic IRequest; `withCorrelation` has already
  // turned every request into an IngestRequest by the time they run.
  catch: (err: unknown, request: IRequest) => toErrorResponse(err, request as IngestRequest),
  finally: [finishResponse],
});

const methodsByPath = new Map<string, string[]>();
for (const route of ROUTES) {
  const handlers = route.authenticated ? [withApiKey, withRateLimit, route.handler] : [route.handler];
  if (route.method === 'GET') router.get(route.path, ...handlers);
  else router.post(route.path, ...handlers);
  methodsByPath.set(route.path, [...(methodsByPath.get(route.path) ?? []), route.method]);
}
for (const [path, methods] of methodsByPath) router.all(path, methodNotAllowed(...methods));
router.all('*', notFound);
