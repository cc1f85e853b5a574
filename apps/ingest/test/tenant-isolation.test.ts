/**
 * Two API keys, each with events in every status: on every inbox route, a key never sees, acks
 * nor replays the other's events, and cannot tell them from events that do not exist.
 */
import { env } from 'cloudflare:workers';
import { type EventDetails, InboxPage, type ReplayResult } from '@triggers/event-schema';
import * as v from 'valibot';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { expectError, post, send } from './support/ingest.ts';
import { rowOf, type Tenant, tenantWithEachStatus } from './support/store.ts';

afterEach(() => vi.restoreAllMocks());

let alice: Tenant;
let bob: Tenant;
beforeAll(async () => {
  [alice, bob] = await Promise.all([tenantWithEachStatus(), tenantWithEachStatus()]);
});

const theirEvents = (t: Tenant) => [t.delivered, t.pending, t.failed];

describe('tenant isolation', () => {
  it('GET /inbox lists only the key’s own events, with every filter', async () => {
    for (const query of ['', '?acked=all', '?status=failed&status=pending&status=delivered', '?order=asc']) {
      const response = await send('GET', `/inbox${query}`, bob.key);
      const { events } = v.parse(InboxPage, await response.json()).data;
      expect(new Set(events.map((e) => e.event_id))).toEqual(
        new Set(theirEvents(bob).map((e) => e.event_id)),
      );
    }
  });

  it('GET /events/{event_id} answers 404 for every event of another key', async () => {
    for (const event of theirEvents(alice)) {
      await expectError(await send('GET', `/events/${event.event_id}`, bob.key), 404, 'NOT_FOUND');
    }
    const own = await send('GET', `/events/${bob.failed.event_id}`, bob.key);
    expect(((await own.json()) as EventDetails).data.event_id).toBe(bob.failed.event_id);
  });

  it('POST /inbox/{event_id}/ack answers 404 for another key’s event and leaves it unacknowledged', async () => {
    for (const event of theirEvents(alice)) {
      await expectError(await send('POST', `/inbox/${event.event_id}/ack`, bob.key), 404, 'NOT_FOUND');
      expect((await rowOf(event))?.acked_at).toBeNull();
    }
  });

  it('POST /inbox/{event_id}/retry answers 404 for another key’s failed event, which stays failed and unsent', async () => {
    const sendBatch = vi.spyOn(env.EVENT_QUEUE, 'sendBatch');
    await expectError(await send('POST', `/inbox/${alice.failed.event_id}/retry`, bob.key), 404, 'NOT_FOUND');
    expect((await rowOf(alice.failed))?.status).toBe('failed');
    expect(sendBatch).not.toHaveBeenCalled();
  });

  it('POST /dlq/replay replays only the key’s own failed events', async () => {
    const response = await post('/dlq/replay', bob.key, {});
    expect(((await response.json()) as ReplayResult).data).toEqual({
      replayed: 1,
      event_ids: [bob.failed.event_id],
    });
    expect((await rowOf(alice.failed))?.status).toBe('failed');
  });
});
