import { env } from 'cloudflare:workers';
import { queuedEvent } from '@triggers/test-support/queued-event';
import { describe, expect, it } from 'vitest';
import {
  commit,
  recentDeadLettersSql,
  recentEventsSql,
  recordRetry,
  statusCountsSql,
  storeDelivered,
} from '../src/index.ts';
import { storeDb } from './backends.ts';

const NOW = new Date('2026-11-29T12:00:00.000Z');
// Events are read in a tenant's store (the `events` view over its day tables), dead letters in D1.
const db = storeDb();
const rows = async (sql: string, on: D1Database = db) => (await on.prepare(sql).all()).results;

describe('inspection SQL', () => {
  it('lists and counts one tenant’s events, even when its id holds a quote', async () => {
    const apiKeyId = "key_o'brien";
    const delivered = queuedEvent({ api_key_id: apiKeyId, timestamp: '2026-11-29T10:00:00.000Z' });
    const pending = queuedEvent({ api_key_id: apiKeyId, timestamp: '2026-11-29T11:00:00.000Z' });
    await commit(db, [
      storeDelivered(db, [{ event: delivered, attempts: 1 }], NOW),
      recordRetry(db, [{ event: pending, attempts: 1, error: 'x' }], NOW),
      storeDelivered(db, [{ event: queuedEvent(), attempts: 1 }], NOW),
    ]);

    expect((await rows(recentEventsSql({ apiKeyId }))).map((r) => r.event_id)).toEqual([
      pending.event_id,
      delivered.event_id,
    ]);
    expect(await rows(recentEventsSql({ apiKeyId, status: 'pending' }, 5))).toEqual([
      expect.objectContaining({ event_id: pending.event_id, attempts: 1, last_error: 'x' }),
    ]);
    expect(await rows(statusCountsSql({ eventIds: [delivered.event_id, pending.event_id] }))).toEqual([
      { status: 'delivered', events: 1, last_updated_at: NOW.toISOString() },
      { status: 'pending', events: 1, last_updated_at: NOW.toISOString() },
    ]);
    expect(await rows(statusCountsSql({ eventIds: [] }))).toEqual([]);
    expect(await rows(recentDeadLettersSql(1), env.DB)).toEqual([]);
  });

  it('refuses a limit or status that would not be safe to inline', () => {
    expect(() => recentEventsSql({}, 0.5)).toThrow();
    expect(() => recentEventsSql({ status: "failed' OR 1=1 --" as 'failed' })).toThrow();
  });
});
