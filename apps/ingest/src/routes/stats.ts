import { EventStats } from '@triggers/event-schema';
import type { AuthedRequest } from '../context.ts';
import type { IngestEnv } from '../env.ts';
import type { RouteSpec } from '../lib/openapi.ts';
import { ok } from '../lib/responses.ts';
import { fromStore, keyStore } from '../lib/stored-events.ts';

/** Everything about `/stats`: a key's traffic counts, what the console's overview shows. */

export const getStatsRoute: RouteSpec = {
  method: 'GET',
  path: '/stats',
  operationId: 'getStats',
  summary: 'Count this API key’s events over the last hour and day, and how full its store is',
  description:
    'Events received in the last hour (60 one-minute buckets) and the last day (24 one-hour buckets), ' +
    'each bucket and window counted by the status the events are in now, and when the latest of them was ' +
    'stored. Counts only events the consumer has seen: one still waiting on the queue is not there yet. ' +
    'Also the size of the key’s event store, and the size at which new events are refused (507 STORE_FULL).',
  authenticated: true,
  response: EventStats,
  errors: ['SERVICE_UNAVAILABLE'],
  handler: getStats,
};

async function getStats(request: AuthedRequest, env: IngestEnv): Promise<Response> {
  const store = keyStore(request, env);
  const [counts, size] = await fromStore(() =>
    Promise.all([store.eventStats(request.apiKey.id, new Date()), store.size()]),
  );
  return ok<EventStats['data']>({
    ...counts,
    store: { size_bytes: size, full_bytes: Number(env.STORE_FULL_BYTES) },
  });
}
