/**
 * End to end, the inbox API as its users drive it: both Workers in one runtime (sharedSystem, with
 * a key of its own), every step over HTTP. A `processing_error` event fails all its attempts, is retried without its debug
 * marker and ends delivered; a `dlq_routing` event is found among the failed ones, replayed in
 * bulk and ends delivered; both are then acknowledged.
 */
import {
  EventAccepted,
  EventDetails,
  InboxPage,
  MAX_QUEUE_ATTEMPTS,
  ReplayResult,
} from '@triggers/event-schema';
import { type System, sharedSystem } from '@triggers/tooling/system';
import * as v from 'valibot';
import { beforeAll, describe, expect, it, vi } from 'vitest';

/** Seen in every payload: must never appear in anything the Workers print. */
const MARKER = `e2e-inbox-payload-${crypto.randomUUID()}`;

let system: System<'test'>;
const sent = { processingError: '', dlqRouting: '' };

async function api(method: 'GET' | 'POST', path: string, body?: unknown): Promise<Response> {
  return fetch(`${system.url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${system.keys.test}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
}

async function ok<TSchema extends v.GenericSchema>(response: Response, schema: TSchema) {
  expect(response.status).toBe(200);
  return v.parse(schema, await response.json()) as v.InferOutput<TSchema>;
}

async function postEvent(debug: string): Promise<string> {
  const response = await api('POST', `/events?debug=${debug}`, { payload: { marker: MARKER, debug } });
  return (await ok(response, EventAccepted)).data.event_id;
}

const getEvent = async (eventId: string) =>
  (await ok(await api('GET', `/events/${eventId}`), EventDetails)).data;

/** The event once `check` holds of it, polling GET /events/{event_id}. */
function eventWhen(eventId: string, check: (e: EventDetails['data']) => boolean, timeout = 60_000) {
  return vi.waitFor(
    async () => {
      const event = await getEvent(eventId);
      if (!check(event)) throw new Error(`${eventId} is ${event.status} (attempt ${event.attempts})`);
      return event;
    },
    { timeout, interval: 250 },
  );
}

beforeAll(async () => {
  system = await sharedSystem({ keys: { test: { mode: 'test', name: 'inbox e2e' } } });
  [sent.processingError, sent.dlqRouting] = await Promise.all([
    postEvent('processing_error'),
    postEvent('dlq_routing'),
  ]);
}, 150_000);

describe('the inbox API, end to end', () => {
  it(`retries a processing_error event failed after ${MAX_QUEUE_ATTEMPTS} attempts, without its debug marker, until it is delivered`, async () => {
    const failed = await eventWhen(sent.processingError, (e) => e.status === 'failed');
    expect(failed).toMatchObject({
      attempts: MAX_QUEUE_ATTEMPTS,
      debug: 'processing_error',
      last_error: expect.stringMatching(/^processing_error:/),
      payload: { marker: MARKER, debug: 'processing_error' },
    });

    const retried = await ok(await api('POST', `/inbox/${sent.processingError}/retry`), EventDetails);
    expect(retried.data).toMatchObject({ status: 'pending', attempts: 0 });

    const delivered = await eventWhen(sent.processingError, (e) => e.status === 'delivered', 30_000);
    expect(delivered).toMatchObject({ attempts: 1, received_at: failed.received_at });
    const again = await api('POST', `/inbox/${sent.processingError}/retry`);
    expect(again.status).toBe(409);
  });

  it('finds a dlq_routing event with GET /inbox?status=failed, replays it with POST /dlq/replay, then sees it delivered', async () => {
    const failed = await vi.waitFor(
      async () => {
        const page = await ok(await api('GET', '/inbox?status=failed'), InboxPage);
        const found = page.data.events.find((e) => e.event_id === sent.dlqRouting);
        if (found === undefined) throw new Error('not failed yet');
        return found;
      },
      { timeout: 30_000, interval: 250 },
    );
    expect(failed).toMatchObject({ status: 'failed', attempts: 1, debug: 'dlq_routing' });

    const replayed = await ok(await api('POST', '/dlq/replay', {}), ReplayResult);
    expect(replayed.data.event_ids).toContain(sent.dlqRouting);
    expect(await eventWhen(sent.dlqRouting, (e) => e.status === 'delivered', 30_000)).toMatchObject({
      attempts: 1,
      last_error: expect.stringMatching(/^dlq_routing:/),
    });
    // A second replay finds nothing failed: safe to call twice.
    expect((await ok(await api('POST', '/dlq/replay'), ReplayResult)).data).toEqual({
      replayed: 0,
      event_ids: [],
    });
  });

  it('acknowledges both events: they leave the default inbox and can still be looked up', async () => {
    for (const eventId of [sent.processingError, sent.dlqRouting]) {
      const acked = await ok(await api('POST', `/inbox/${eventId}/ack`), EventDetails);
      expect(acked.data).toMatchObject({ status: 'delivered', acked_at: expect.any(String) });
    }
    const inbox = await ok(await api('GET', '/inbox'), InboxPage);
    expect(inbox.data.events.map((e) => e.event_id)).not.toContain(sent.dlqRouting);
    expect(inbox.data.events.map((e) => e.event_id)).not.toContain(sent.processingError);
    expect((await getEvent(sent.dlqRouting)).acked_at).toEqual(expect.any(String));
  });

  it('never prints a payload', () => {
    expect(
      system.logs.some((l) => l.message === 'events replayed' && l.api_key_id === system.keyIds.test),
    ).toBe(true);
    expect(system.output()).not.toContain(MARKER);
  });
});
