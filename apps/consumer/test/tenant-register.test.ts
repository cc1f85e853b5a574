/**
 * A tenant's store reports its size and event count to D1's tenant register (`tenant_stores`)
 * from the size watch of its writes (src/tenant-store.ts): real store objects, real local D1.
 */
import { runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import type { TenantSize } from '@triggers/event-store';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { EVENT_COUNT_INTERVAL_MS, STORE_WATCH_INTERVAL_MS, type TenantStore } from '../src/tenant-store.ts';
import { deliver, event, message, PAYLOAD_SECRET, row, storeOf, stubOf } from './queue.ts';

afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

const registered = (apiKeyId: string) =>
  env.DB.prepare('SELECT * FROM tenant_stores WHERE api_key_id = ?1').bind(apiKeyId).first<TenantSize>();

const write = (apiKeyId: string) =>
  storeOf(apiKeyId).writeEvents(
    { delivered: [{ event: event({ api_key_id: apiKeyId }), attempts: 1 }] },
    new Date(),
  );

const sizeOf = (apiKeyId: string) =>
  runInDurableObject(stubOf(apiKeyId), (_: TenantStore, state) => state.storage.sql.databaseSize);

describe('the tenant register, reported by each store', () => {
  it('holds a store’s size and event count after its first write', async () => {
    const key = `key_${crypto.randomUUID()}`;
    expect(await registered(key)).toBeNull();
    const before = new Date().toISOString();
    await write(key);
    const reported = await registered(key);
    expect(reported).toMatchObject({ api_key_id: key, events: 1 });
    // Its size when it reported: the write's pages, before the bookkeeping that follows a write.
    expect(reported?.bytes).toBeGreaterThan(0);
    expect(reported?.bytes).toBeLessThanOrEqual(await sizeOf(key));
    expect((reported?.updated_at ?? '') >= before).toBe(true);
    expect(reported?.counted_at).toBe(reported?.updated_at);
  });

  it('reports at most once a minute, and counts the events at most once an hour', async () => {
    const key = `key_${crypto.randomUUID()}`;
    // Only the clock is faked (the objects run in this isolate and read the same Date.now()).
    vi.useFakeTimers({ toFake: ['Date'] });
    const start = Date.now();
    await write(key);
    const first = await registered(key);
    await write(key);
    expect(await registered(key)).toEqual(first);

    vi.setSystemTime(start + STORE_WATCH_INTERVAL_MS);
    await write(key);
    const second = await registered(key);
    expect(second?.updated_at).toBe(new Date(start + STORE_WATCH_INTERVAL_MS).toISOString());
    // The count of the first report: 3 events are stored, 1 was counted.
    expect(second).toMatchObject({ events: 1, counted_at: first?.counted_at });

    vi.setSystemTime(start + EVENT_COUNT_INTERVAL_MS);
    await write(key);
    expect(await registered(key)).toMatchObject({
      events: 4,
      counted_at: new Date(start + EVENT_COUNT_INTERVAL_MS).toISOString(),
    });
  });

  it('holds the size a retention run left, without waiting for the next write', async () => {
    const key = `key_${crypto.randomUUID()}`;
    const old = new Date(Date.now() - 10 * 86_400_000).toISOString(); // past 7 days' retention
    const events = Array.from({ length: 50 }, () =>
      event({ api_key_id: key, timestamp: old, payload: { pad: 'x'.repeat(1000) } }),
    );
    await storeOf(key).writeEvents({ delivered: events.map((e) => ({ event: e, attempts: 1 })) }, new Date());
    const written = await registered(key);
    expect(written?.events).toBe(50);
    expect(await runDurableObjectAlarm(stubOf(key))).toBe(true);
    const retained = await registered(key);
    expect(retained?.bytes).toBe(await sizeOf(key));
    expect(retained?.bytes).toBeLessThan(written?.bytes ?? 0);
    expect((retained?.updated_at ?? '') >= (written?.updated_at ?? '')).toBe(true);
  });

  it('stores the events when the report fails, and logs one line without payloads', async () => {
    const e = event();
    // Mocked: a local D1 cannot be made to fail on demand. Only the store object's report goes
    // through `prepare` while this holds (the object and this test share the binding).
    vi.spyOn(env.DB, 'prepare').mockImplementation(() => {
      throw new Error('D1 is unavailable (test)');
    });
    const lines: string[] = [];
    for (const level of ['log', 'warn', 'error'] as const)
      vi.spyOn(console, level).mockImplementation((line: unknown) => lines.push(String(line)));
    const result = await deliver('event-queue', [message(e)]);
    vi.restoreAllMocks();

    expect(result.retryMessages).toEqual([]);
    expect(result.explicitAcks).toHaveLength(1);
    expect(await row(e)).toMatchObject({ status: 'delivered' });
    const failures = lines.map((l) => JSON.parse(l)).filter((l) => l.message === 'tenant size not reported');
    expect(failures).toEqual([
      expect.objectContaining({
        level: 'warn',
        api_key_id: e.api_key_id,
        error: 'Error: D1 is unavailable (test)',
      }),
    ]);
    expect(lines.join('\n')).not.toContain(PAYLOAD_SECRET);
    expect(await registered(e.api_key_id)).toBeNull();
  });
});
