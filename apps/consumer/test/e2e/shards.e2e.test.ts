/**
 * End to end with two shards of event-queue (`EVENT_QUEUE_SHARDS = 2`, docs/scaling.md): events
 * POSTed over HTTP, singly and in a batch, cross the real local `event-queue` and `event-queue-1`
 * (both Workers in one runtime share them) and are stored once each. A system of its own, since it
 * changes the ingest Worker's setting.
 */
import { BatchAccepted, EventAccepted } from '@triggers/event-schema';
import { statusCountsSql } from '@triggers/event-store/inspect';
import { type System, sharedSystem } from '@triggers/tooling/system';
import * as v from 'valibot';
import { beforeAll, describe, expect, it, vi } from 'vitest';

/** Single events sent, and events in the one batch request. */
const SINGLES = 60;
const BATCH = 50;

let system: System<'test'>;
const sent: string[] = [];

async function post(path: string, body: unknown): Promise<unknown> {
  const response = await fetch(`${system.url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${system.keys.test}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  expect(response.status).toBe(200);
  return response.json();
}

beforeAll(async () => {
  system = await sharedSystem({
    vars: { EVENT_QUEUE_SHARDS: '2' },
    keys: { test: { mode: 'test', name: 'shards e2e' } },
  });
  const singles = await Promise.all(
    Array.from({ length: SINGLES }, async (_, i) =>
      v.parse(EventAccepted, await post('/events', { payload: { i } })),
    ),
  );
  sent.push(...singles.map((s) => s.data.event_id));
  const batch = v.parse(
    BatchAccepted,
    await post('/events/batch', { events: Array.from({ length: BATCH }, (_, i) => ({ payload: { i } })) }),
  );
  sent.push(...batch.data.results.flatMap((r) => (r.status === 'accepted' ? [r.event_id] : [])));
}, 150_000);

describe('two shards of event-queue, end to end', () => {
  it(`stores the ${SINGLES + BATCH} events sent through event-queue and event-queue-1 exactly once each`, async () => {
    expect(sent).toHaveLength(SINGLES + BATCH);
    const [counts] = await vi.waitFor(
      () => {
        const results = system.stored([statusCountsSql({ apiKeyId: system.keyIds.test })]);
        const delivered = results[0]?.find((row) => row.status === 'delivered');
        if (!(Number(delivered?.events) >= sent.length))
          throw new Error(`stored so far: ${JSON.stringify(results)}`);
        return results;
      },
      { timeout: 60_000, interval: 1_000 },
    );
    // Every row of this key is one of the events sent, delivered, none twice.
    expect(counts).toEqual([
      { status: 'delivered', events: sent.length, last_updated_at: expect.any(String) },
    ]);
    const [ours] = system.stored([statusCountsSql({ eventIds: sent })]);
    expect(ours).toEqual([expect.objectContaining({ status: 'delivered', events: sent.length })]);
  });

  it('carried events on both queues', () => {
    const queues = new Set(system.logs.filter((l) => l.message === 'batch').map((l) => l.queue));
    expect(queues).toEqual(new Set(['event-queue', 'event-queue-1']));
  });
});
