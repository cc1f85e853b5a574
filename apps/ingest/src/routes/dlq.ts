import { MAX_INBOX_LIMIT, ReplayRequest, ReplayResult } from '@triggers/event-schema';
import type { AuthedRequest } from '../context.ts';
import type { IngestEnv } from '../env.ts';
import { JSON_BODY_ERRORS, readOptionalJsonBody } from '../lib/body.ts';
import type { RouteSpec } from '../lib/openapi.ts';
import { requeue } from '../lib/requeue.ts';
import { ok } from '../lib/responses.ts';
import { fromStore, keyStore } from '../lib/stored-events.ts';
import { assertOrderedRange, validate } from '../lib/validate.ts';

/** Everything about `/dlq`: re-enqueue a key's failed events in bulk (`POST /dlq/replay`). */

/** The largest `POST /dlq/replay` body: three optional fields. */
const MAX_REPLAY_BODY_BYTES = 4_096;

export const replayDeadLettersRoute: RouteSpec = {
  method: 'POST',
  path: '/dlq/replay',
  operationId: 'replayDeadLetters',
  summary: 'Re-enqueue many failed events',
  description:
    `Re-enqueues up to limit (at most ${MAX_INBOX_LIMIT}) failed, unacknowledged events of this API key ` +
    'received in [from, to), oldest first, and answers how many. Safe to repeat: replayed events are ' +
    'pending, and only failed ones are taken. The body may be left out.',
  authenticated: true,
  body: ReplayRequest,
  bodyOptional: true,
  response: ReplayResult,
  errors: [...JSON_BODY_ERRORS, 'VALIDATION_ERROR', 'SERVICE_UNAVAILABLE'],
  budget: 'replays_per_key',
  handler: replayDeadLetters,
};

async function replayDeadLetters(request: AuthedRequest, env: IngestEnv): Promise<Response> {
  const input = validate(ReplayRequest, await readOptionalJsonBody(request, MAX_REPLAY_BODY_BYTES));
  assertOrderedRange(input);
  const before = await fromStore(() =>
    keyStore(request, env).replayFailed(
      { apiKeyId: request.apiKey.id, from: input.from, to: input.to, limit: input.limit },
      new Date(),
    ),
  );
  await requeue(request, env, before);
  request.log.log('info', 'events replayed', { replayed: before.length });
  return ok<ReplayResult['data']>({
    replayed: before.length,
    event_ids: before.map((event) => event.event_id),
  });
}
