import type { EventStats } from '@triggers/event-schema';
import { eventStats } from '@triggers/event-store';
import type { AuthedRequest } from '../context.ts';
import type { IngestEnv } from '../env.ts';
import { ok } from '../lib/responses.ts';
import { fromStore } from '../lib/stored-events.ts';

/** Everything about `/stats`: a key's traffic counts, what the console's overview shows. */

/**
 * `GET /stats`: the key's events by status over the last hour (minute buckets) and the last day
 * (hour buckets), and when the latest of them was stored.
 */
export async function getStats(request: AuthedRequest, env: IngestEnv): Promise<Response> {
  const stats = await fromStore(() => eventStats(env.DB, request.apiKey.id, new Date()));
  return ok<EventStats['data']>(stats);
}
