/**
 * Two API keys, each with events in every status: on every inbox route, a key never sees, acks
 * nor replays the other's events, and cannot tell them from events that do not exist. Each key's
 * data is in its own store object, and a key's requests reach no other.
 */
import { listDurableObjectIds, runInDurableObject } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { type EventDetails, InboxPage, type ReplayResult } from '@triggers/event-schema';
import { TenantStore } from '@triggers/event-store';
import * as v from 'valibot';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { expectError, newApiKey, post, send } from './support/ingest.ts';
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

/** The store object of the key `apiKeyId`, and what it holds: its owner and its events' ids. */
async function objectOf(apiKeyId: string) {
  const id = env.TENANTS.idFromName(apiKeyId);
  const held = await runInDurableObject(env.TENANTS.get(id), (instance, state) => ({
    // The object is this runtime's TenantStore (test/worker.ts), not a stand-in for another script.
    hosted: instance instanceof TenantStore,
    owner: state.storage.sql.exec<{ tenant: string }>('SELECT tenant FROM store_owner').toArray(),
    events: state.storage.sql
      .exec<{ api_key_id: string; event_id: string }>('SELECT api_key_id, event_id FROM events')
      .toArray(),
  }));
  return { id: id.toString(), ...held };
}

describe('tenant stores', () => {
  it('keeps each key’s events in an object of its own, holding nothing of the other key', async () => {
    const ids = (await listDurableObjectIds(env.TENANTS)).map((id) => id.toString());
    for (const tenant of [alice, bob]) {
      const object = await objectOf(tenant.key.id);
      expect(ids).toContain(object.id);
      expect(object.hosted).toBe(true);
      expect(object.owner).toEqual([{ tenant: tenant.key.id }]);
      expect(object.events.map((e) => e.event_id).sort()).toEqual(
        theirEvents(tenant)
          .map((e) => e.event_id)
          .sort(),
      );
      expect(new Set(object.events.map((e) => e.api_key_id))).toEqual(new Set([tenant.key.id]));
    }
  });

  it('sends a key’s requests to its own object only: another key’s event is not found, and no other object is touched', async () => {
    const carol = await newApiKey();
    const before = new Set((await listDurableObjectIds(env.TENANTS)).map((id) => id.toString()));
    const event = alice.failed.event_id;
    await expectError(await send('GET', `/events/${event}`, carol), 404, 'NOT_FOUND');
    await expectError(await send('GET', `/events/${event}/deliveries`, carol), 404, 'NOT_FOUND');
    await expectError(await send('POST', `/inbox/${event}/ack`, carol), 404, 'NOT_FOUND');
    await expectError(await send('POST', `/inbox/${event}/retry`, carol), 404, 'NOT_FOUND');
    expect((await post('/dlq/replay', carol, {})).status).toBe(200);
    expect((await send('GET', '/inbox?acked=all', carol)).status).toBe(200);

    const after = (await listDurableObjectIds(env.TENANTS)).map((id) => id.toString());
    const carolsObject = await objectOf(carol.id);
    expect(after.filter((id) => !before.has(id))).toEqual([carolsObject.id]);
    expect(carolsObject).toMatchObject({ owner: [{ tenant: carol.id }], events: [] });
    expect((await rowOf(alice.failed))?.status).toBe('failed');
    expect((await rowOf(alice.failed))?.acked_at).toBeNull();
  });
});
