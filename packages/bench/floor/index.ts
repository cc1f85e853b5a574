/**
 * The durable floors: the least a Worker can do and still promise what our endpoints promise.
 * No authentication, validation, rate limiting or logging in either.
 *
 * - `POST /` (any path but `/batch`), the single-event floor: reads the body, `send()`s it to a
 *   queue, waits until the queue has persisted it, and answers a small JSON 200; its consumer acks
 *   every message.
 * - `POST /batch`, the batch durable floor: reads a `POST /events/batch` body, gives each event
 *   an id, packs them into as few queue messages as the queue's limits allow, `sendBatch()`es them
 *   and answers 200 with the ids as `POST /events/batch` does (`data.results[]`). Its consumer
 *   writes each queue batch into one SQLite-backed Durable Object (one tenant) in one call, one
 *   `INSERT OR IGNORE … FROM jsonb_each(?)` per array of up to the event store's bound, into a
 *   table shaped as a day table's keys (unique `event_id`, index on `(received_at, event_id)`),
 *   then acks. The bench reads that table from the object's SQLite file (src/stored.mjs).
 *
 * `?limits=N` (the bench's "floor + limiter calls" target): first N calls to a rate limiting
 * binding, one after the other, as many as `POST /events` makes (one: the key's requests). What
 * that adds is what the limiter binding costs in this runtime, which ingest is not asked to beat.
 */
import { DurableObject } from 'cloudflare:workers';
import {
  chunkBySize,
  jsonChunks,
  MAX_BATCH_EVENTS,
  MAX_PACKED_MESSAGE_BYTES,
  sendBatchChunks,
  utf8Bytes,
} from '@triggers/event-schema';
import { MAX_JSON_PARAM_BYTES } from '@triggers/event-store/write';

interface FloorEnv {
  FLOOR_QUEUE: Queue<string>;
  FLOOR_BATCH_QUEUE: Queue<string>;
  FLOOR_LIMITER: RateLimit;
  FLOOR_STORE: DurableObjectNamespace<FloorStore>;
}

const LIMITS_PARAM = '?limits=';
/** wrangler.toml's consumer of `POST /batch`'s queue. */
const BATCH_QUEUE = 'bench-floor-batch-queue';
/** The one object (tenant) every batch is stored in. */
const TENANT = 'floor';

/** Where the batch floor's events are stored, in the object (src/stored.mjs reads it). */
const SCHEMA = [
  'CREATE TABLE IF NOT EXISTS events (event_id TEXT NOT NULL UNIQUE, received_at TEXT NOT NULL, event TEXT NOT NULL) STRICT',
  'CREATE INDEX IF NOT EXISTS events_by_received ON events (received_at, event_id)',
];
const INSERT = `INSERT OR IGNORE INTO events (event_id, received_at, event)
SELECT e.value ->> '$.event_id', e.value ->> '$.received_at', e.value -> '$.event' FROM jsonb_each(?) AS e`;

/** The batch floor's one tenant store. */
export class FloorStore extends DurableObject<FloorEnv> {
  constructor(ctx: DurableObjectState, env: FloorEnv) {
    super(ctx, env);
    for (const sql of SCHEMA) ctx.storage.sql.exec(sql);
  }

  /** Stores the events of `arrays` (JSON arrays of queued events), in one transaction. */
  store(arrays: string[]): void {
    this.ctx.storage.transactionSync(() => {
      for (const array of arrays) this.ctx.storage.sql.exec(INSERT, array);
    });
  }
}

/** `POST /batch`: the events of the body, each with an id, on the queue before the answer. */
async function acceptBatch(request: Request, env: FloorEnv): Promise<Response> {
  const { events } = (await request.json()) as { events: unknown[] };
  const received_at = new Date().toISOString();
  const queued = events.map((event) => ({ event_id: crypto.randomUUID(), received_at, event }));
  const messages = jsonChunks(queued, { maxItems: MAX_BATCH_EVENTS, maxBytes: MAX_PACKED_MESSAGE_BYTES });
  for (const call of sendBatchChunks(messages, (message) => message.bytes)) {
    await env.FLOOR_BATCH_QUEUE.sendBatch(
      call.map((message) => ({ body: message.text, contentType: 'text' })),
    );
  }
  return Response.json({
    data: { results: queued.map(({ event_id }, index) => ({ index, status: 'accepted', event_id })) },
  });
}

/** Message bodies (JSON arrays) joined into as few arrays as one statement's parameter takes. */
function joinArrays(bodies: string[]): string[] {
  const runs = chunkBySize(bodies, utf8Bytes, {
    maxBytes: MAX_JSON_PARAM_BYTES,
    overheadBytes: 2,
    separatorBytes: 1,
  });
  return runs.map((run) => `[${run.map((body) => body.slice(1, -1)).join(',')}]`);
}

export default {
  async fetch(request, env) {
    if (new URL(request.url).pathname === '/batch') return acceptBatch(request, env);
    const query = request.url.indexOf(LIMITS_PARAM);
    const limits = query === -1 ? 0 : Number(request.url.slice(query + LIMITS_PARAM.length));
    for (let call = 0; call < limits; call++) {
      const { success } = await env.FLOOR_LIMITER.limit({ key: `floor-${call}` });
      if (!success) return Response.json({ ok: false }, { status: 429 });
    }
    await env.FLOOR_QUEUE.send(await request.text(), { contentType: 'text' });
    return Response.json({ ok: true });
  },
  async queue(batch, env) {
    if (batch.queue === BATCH_QUEUE) {
      const store = env.FLOOR_STORE.get(env.FLOOR_STORE.idFromName(TENANT));
      await store.store(joinArrays(batch.messages.map((message) => message.body)));
    }
    batch.ackAll();
  },
} satisfies ExportedHandler<FloorEnv, string>;
