import { runInDurableObject } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { queuedEvent } from '@triggers/test-support/queued-event';
import { describe, expect, it } from 'vitest';
import { commit, getEvent, storeDelivered } from '../src/index.ts';
import { backend, freshObject, objectDb, storeDb } from './backends.ts';

describe('the backend of the query suites', () => {
  it(`is the one this run names (${backend}): a write through it lands there and nowhere else`, async () => {
    const event = queuedEvent();
    const db = backend === 'object' ? objectDb(freshObject('backend-check')) : storeDb();
    await commit(db, [storeDelivered(db, [{ event, attempts: 1 }], new Date())]);
    const inD1 = await getEvent(env.DB, { apiKeyId: event.api_key_id, eventId: event.event_id });
    const inObject = await runInDurableObject(freshObject('backend-check'), (_, state) =>
      state.storage.sql.exec('SELECT event_id FROM events WHERE event_id = ?', event.event_id).toArray(),
    );
    expect({ d1: inD1 !== null, object: inObject.length === 1 }).toEqual({
      d1: backend === 'd1',
      object: backend === 'object',
    });
    expect(storeDb() === env.DB).toBe(backend === 'd1');
  });
});
