/**
 * The durable floor: the least a Worker can do and still promise what `POST /events` promises.
 * It reads the body, `send()`s it to a queue, waits until the queue has persisted it, and answers
 * a small JSON 200; its consumer acks every message. No authentication, validation or logging.
 */
interface FloorEnv {
  FLOOR_QUEUE: Queue<string>;
}

export default {
  async fetch(request, env) {
    await env.FLOOR_QUEUE.send(await request.text(), { contentType: 'text' });
    return Response.json({ ok: true });
  },
  queue(batch) {
    batch.ackAll();
  },
} satisfies ExportedHandler<FloorEnv, string>;
