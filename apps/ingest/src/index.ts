import { type IRequest, Router } from 'itty-router';
import type { HandlerArgs, IngestRequest } from './context.ts';
import type { IngestEnv } from './env.ts';
import { finishResponse, toErrorResponse } from './lib/responses.ts';
import { withApiKey } from './middleware/auth.ts';
import { withCorrelation } from './middleware/correlation.ts';
import { withRateLimit } from './middleware/rate-limit.ts';
import { postEventBatch } from './routes/batch.ts';
import { postEvent } from './routes/events.ts';
import { methodNotAllowed, notFound } from './routes/fallback.ts';
import { health } from './routes/health.ts';

const router = Router<IngestRequest, HandlerArgs>({
  before: [withCorrelation],
  // itty-router types these hooks with its generic IRequest; `withCorrelation` has already
  // turned every request into an IngestRequest by the time they run.
  catch: (err: unknown, request: IRequest) => toErrorResponse(err, request as IngestRequest),
  finally: [finishResponse],
});

router
  .get('/health', health)
  .all('/health', methodNotAllowed('GET'))
  .post('/events', withApiKey, withRateLimit, postEvent)
  .all('/events', methodNotAllowed('POST'))
  .post('/events/batch', withApiKey, withRateLimit, postEventBatch)
  .all('/events/batch', methodNotAllowed('POST'))
  .all('*', notFound);

export default {
  fetch: (request, env, ctx) => router.fetch(request, env, ctx),
} satisfies ExportedHandler<IngestEnv>;
