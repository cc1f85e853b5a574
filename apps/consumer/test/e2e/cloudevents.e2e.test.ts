/**
 * End to end, CloudEvents as a new user would send them: the official JavaScript SDK
 * (`cloudevents` on npm) builds each message (binary, structured, and a batch of structured
 * events), `fetch` posts it to the real ingest Worker, the real queue carries it to the real
 * consumer, which stores it in the local D1; the event is then found by `GET /inbox?type=…` and
 * read back with `Accept: application/cloudevents+json`, which the SDK parses into an event equal
 * to the one sent.
 */
import { EventAccepted, EventDetails, InboxPage } from '@triggers/event-schema';
import { type System, sharedSystem } from '@triggers/tooling/system';
import { CloudEvent, HTTP } from 'cloudevents';
import * as v from 'valibot';
import { beforeAll, describe, expect, it, vi } from 'vitest';

let system: System<'test'>;

/** This run's own source, so that nothing another run stored can match. */
const SOURCE = `https://shop.example/e2e/${crypto.randomUUID()}`;

beforeAll(async () => {
  system = await sharedSystem({ keys: { test: { mode: 'test', name: 'cloudevents e2e' } } });
}, 150_000);

/** Posts an SDK-made message (`headers`, `body`) to `path` with the test key. */
async function send(path: string, message: { headers: Record<string, unknown>; body: unknown }) {
  const headers = new Headers({ authorization: `Bearer ${system.keys.test}` });
  for (const [name, value] of Object.entries(message.headers)) headers.set(name, String(value));
  return fetch(`${system.url}${path}`, { method: 'POST', headers, body: message.body as BodyInit });
}

async function accepted(response: Response): Promise<string> {
  const body = await response.json();
  expect(response.status, JSON.stringify(body)).toBe(200);
  return v.parse(EventAccepted, body).data.event_id;
}

const get = (path: string, accept = 'application/json') =>
  fetch(`${system.url}${path}`, { headers: { authorization: `Bearer ${system.keys.test}`, accept } });

/** Waits until the consumer has stored `eventId`, then reads it back through the SDK. */
async function readBack(eventId: string): Promise<CloudEvent<unknown>> {
  await vi.waitFor(
    async () => {
      const response = await get(`/events/${eventId}`);
      if (response.status !== 200) throw new Error(`${eventId}: ${response.status}`);
      expect(v.parse(EventDetails, await response.json()).data.status).toBe('delivered');
    },
    { timeout: 60_000, interval: 250 },
  );
  const response = await get(`/events/${eventId}`, 'application/cloudevents+json');
  const headers = Object.fromEntries(response.headers);
  return HTTP.toEvent({ headers, body: await response.text() }) as CloudEvent<unknown>;
}

/** What the SDK's event is as JSON: the attributes, extensions and data a round trip must keep. */
const json = (event: unknown) => JSON.parse(JSON.stringify(event)) as Record<string, unknown>;

describe('CloudEvents from the official SDK, end to end', () => {
  it('accepts a binary-mode event, stores it and gives back an equal CloudEvent', async () => {
    const event = new CloudEvent({
      type: 'order.created',
      source: SOURCE,
      subject: 'order/42',
      datacontenttype: 'application/json',
      traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
      data: { order: 42, items: ['a', 'b'] },
    });
    const eventId = await accepted(await send('/events', HTTP.binary(event)));
    expect(json(await readBack(eventId))).toEqual(json(event));
  });

  it('accepts a structured-mode event with XML data and gives it back unchanged', async () => {
    const event = new CloudEvent({
      type: 'order.shipped',
      source: SOURCE,
      datacontenttype: 'application/xml',
      data: '<shipment order="42"><carrier>ü-post</carrier></shipment>',
    });
    const eventId = await accepted(await send('/events', HTTP.structured(event)));
    expect(json(await readBack(eventId))).toEqual(json(event));
  });

  it('accepts binary data in binary mode and gives back the same bytes', async () => {
    const bytes = new Uint8Array([0, 1, 2, 253, 254, 255, 137, 80, 78, 71]);
    const event = new CloudEvent({
      type: 'invoice.rendered',
      source: SOURCE,
      datacontenttype: 'application/pdf',
      data: bytes,
    });
    const eventId = await accepted(await send('/events', HTTP.binary(event)));
    const back = await readBack(eventId);
    expect(back.data_base64).toBe(Buffer.from(bytes).toString('base64'));
    expect({ ...json(back), data: undefined, data_base64: undefined }).toEqual({
      ...json(event),
      data: undefined,
      data_base64: undefined,
    });
  });

  it('gives a resent event the same event_id, stored once', async () => {
    const event = new CloudEvent({ type: 'order.paid', source: SOURCE, data: { order: 42 } });
    const first = await accepted(await send('/events', HTTP.binary(event)));
    const again = await accepted(await send('/events', HTTP.structured(event)));
    expect(again).toBe(first);
    await readBack(first);
    const inbox = await get(`/inbox?type=order.paid&source=${encodeURIComponent(SOURCE)}`);
    expect(v.parse(InboxPage, await inbox.json()).data.events.map((e) => e.event_id)).toEqual([first]);
  });

  it('accepts a batch of structured events with a result per item, found by GET /inbox?type=', async () => {
    const events = [
      new CloudEvent({ type: 'refund.requested', source: SOURCE, data: { refund: 1 } }),
      new CloudEvent({ type: 'refund.approved', source: SOURCE, data: { refund: 1 } }),
    ];
    const response = await send('/events/batch', {
      headers: { 'content-type': 'application/cloudevents-batch+json' },
      body: JSON.stringify(events),
    });
    expect(response.status).toBe(200);
    const { results } = ((await response.json()) as { data: { results: { event_id: string }[] } }).data;
    const ids = results.map((result) => result.event_id);
    expect(ids).toHaveLength(2);
    for (const [i, id] of ids.entries()) expect(json(await readBack(id))).toEqual(json(events[i]));

    const inbox = await get(`/inbox?type=refund.*&source=${encodeURIComponent(SOURCE)}`);
    const page = v.parse(InboxPage, await inbox.json());
    expect(page.data.events.map((e) => e.event_id).sort()).toEqual([...ids].sort());
    expect(page.data.events.map((e) => e.type).sort()).toEqual(['refund.approved', 'refund.requested']);
  });
});
