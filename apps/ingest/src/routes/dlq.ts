import { ReplayRequest, type ReplayResult } from '@triggers/event-schema';
import { replayFailed } from '@triggers/event-store';
import type { AuthedRequest } from '../context.ts';
import type { IngestEnv } from '../env.ts';
import { readOptionalJsonBody } from '../lib/body.ts';
import { requeue } from '../lib/requeue.ts';
import { ok } from '../lib/responses.ts';
import { fromStore } from '../lib/stored-events.ts';
import { assertOrderedRange, validate } from '../lib/validate.ts';

/** Everything about `/dlq`: re-enqueue a key's failed events in bulk (`POST /dlq/replay`). */

/** The largest `POST /dlq/replay` body: three optional fields. */
const MAX_REPLAY_BODY_BYTES = 4_096;

/**
 * `POST /dlq/replay`: re-enqueues the key's failed events that are not acknowledged, oldest
 * first, within `from`/`to` and up to `limit`, in `sendBatch` calls within the queue's limits.
 * Safe to repeat: a replayed event is `pending`, and only `failed` ones are taken.
 */
export async function replayDeadLetters(request: AuthedRequest, env: IngestEnv): Promise<Response> {
  const input = validate(ReplayRequest, await readOptionalJsonBody(request, MAX_REPLAY_BODY_BYTES));
  assertOrderedRange(input);
  const before = await fromStore(() =>
    replayFailed(
      env.DB,
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
