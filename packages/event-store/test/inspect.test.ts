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

const NOW = new Date('2026-11-29T12:00:00.000Z');
const rows = async (sql: string) => (await env.DB.prepare(sql).all()).results;

describe('inspection SQL', () => {
  it('lists and counts one tenant’s events, even when its id holds a quote', async () => {
    const apiKeyId = "key_o'brien";
    const delivered = queuedEvent({ api_key_id: apiKeyId, timestamp: '2026-11-29T10:00:00.000Z' });
    const pending = queuedEvent({ api_key_id: apiKeyId, timestamp: '2026-11-29T11:00:00.000Z' });
    await commit(env.DB, [
      storeDelivered(env.DB, [{ event: delivered, attempts: 1 }], NOW),
      recordRetry(env.DB, [{ event: pending, attempts: 1, error: 'x' }], NOW),
      storeDelivered(env.DB, [{ event: queuedEvent(), attempts: 1 }], NOW),
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
    expect(await rows(recentDeadLettersSql(1))).toEqual([]);
  });

  it('refuses a limit or status that would not be safe to inline', () => {
    expect(() => recentEventsSql({}, 0.5)).toThrow();
    expect(() => recentEventsSql({ status: "failed' OR 1=1 --" as 'failed' })).toThrow();
  });
});
