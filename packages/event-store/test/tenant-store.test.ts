import { env, listDurableObjectIds, runInDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { type TenantStore, tenantStore } from '../src/index.ts';

const event = (apiKeyId: string, n: number) => ({
  event_id: `evt_${apiKeyId}_${n}`,
  api_key_id: apiKeyId,
  payload: { n },
  timestamp: new Date(Date.UTC(2026, 11, 5, 12, 0, n)).toISOString(),
  correlation_id: `cor_${n}`,
});

describe('tenant stores', () => {
  it('keeps two tenants in two objects, each holding only its own events', async () => {
    const now = new Date();
    const a = tenantStore(env.TENANTS, 'key_a');
    const b = tenantStore(env.TENANTS, 'key_b');
    const written = await a.writeEvents(
      { delivered: [1, 2].map((n) => ({ event: event('key_a', n), attempts: 1 })) },
      now,
    );
    await b.writeEvents({ delivered: [{ event: event('key_b', 3), attempts: 1 }] }, now);
    expect(written.delivered.sort()).toEqual(['evt_key_a_1', 'evt_key_a_2']);
    const ids = await listDurableObjectIds(env.TENANTS);
    expect(ids).toHaveLength(2);
    const held = await Promise.all(
      ids.map((id) =>
        runInDurableObject(env.TENANTS.get(id), (_: TenantStore, state) =>
          state.storage.sql
            .exec<{ event_id: string }>('SELECT event_id FROM events ORDER BY event_id')
            .toArray(),
        ),
      ),
    );
    expect(held.map((rows) => rows.map((r) => r.event_id)).sort()).toEqual([
      ['evt_key_a_1', 'evt_key_a_2'],
      ['evt_key_b_3'],
    ]);
    expect(await a.getEvent({ apiKeyId: 'key_a', eventId: 'evt_key_b_3' })).toBeNull();
    expect((await b.getEvent({ apiKeyId: 'key_b', eventId: 'evt_key_b_3' }))?.status).toBe('delivered');
    const again = await a.writeEvents({ delivered: [{ event: event('key_a', 1), attempts: 2 }] }, now);
    expect(again.delivered).toEqual([]);
  });
});
