/**
 * The durable floor: the least a Worker can do and still promise what `POST /events` promises.
 * It reads the body, `send()`s it to a queue, waits until the queue has persisted it, and answers
 * a small JSON 200; its consumer acks every message. No authentication, validation or logging.
 *
 * `?limits=N` (the bench's "floor + limiter calls" target): first N calls to a rate limiting
 * binding, one after the other, as many as `POST /events` makes (one: the key's requests). What
 * that adds is what the limiter binding costs in this runtime, which ingest is not asked to beat.
 */
interface FloorEnv {
  FLOOR_QUEUE: Queue<string>;
  FLOOR_LIMITER: RateLimit;
}

const LIMITS_PARAM = '?limits=';

export default {
  async fetch(request, env) {
    const query = request.url.indexOf(LIMITS_PARAM);
    const limits = query === -1 ? 0 : Number(request.url.slice(query + LIMITS_PARAM.length));
    for (let call = 0; call < limits; call++) {
      const { success } = await env.FLOOR_LIMITER.limit({ key: `floor-${call}` });
      if (!success) return Response.json({ ok: false }, { status: 429 });
    }
    await env.FLOOR_QUEUE.send(await request.text(), { contentType: 'text' });
    return Response.json({ ok: true });
  },
  queue(batch) {
    batch.ackAll();
  },
} satisfies ExportedHandler<FloorEnv, string>;
