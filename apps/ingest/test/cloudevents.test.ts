import { runInDurableObject } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import {
  type BatchAccepted,
  type EventAccepted,
  type EventDetails,
  type InboxPage,
  MAX_IDENTITY_LENGTH,
  MAX_JSON_DEPTH,
  type QueuedEvent,
} from '@triggers/event-schema';
import { describe, expect, it } from 'vitest';
import { MAX_ECHO_CHARS } from '../src/lib/echo.ts';
import { call, expectError, newApiKey, queued, type TestKey } from './support/ingest.ts';
import { storeQueued } from './support/store.ts';

/**
 * CloudEvents 1.0 over HTTP against the real ingest Worker in workerd: the three modes, each
 * conformance rule (one test each), the idempotency of source + id, and round trips through the
 * real queue and the event store's own write into GET /events/{id} as a structured CloudEvent.
 * (The official SDK as the sender, against both Workers, is apps/consumer/test/e2e.)
 */

const STRUCTURED = 'application/cloudevents+json';

const base = () => ({
  specversion: '1.0',
  id: crypto.randomUUID(),
  source: 'https://shop.example/orders',
  type: 'order.created',
});

function postStructured(key: TestKey, event: unknown, query = ''): Promise<Response> {
  return call(`/events${query}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key.key}`, 'content-type': STRUCTURED },
    body: JSON.stringify(event),
  });
}

function postBinary(key: TestKey, headers: Record<string, string>, body?: BodyInit): Promise<Response> {
  return call('/events', {
    method: 'POST',
    headers: { authorization: `Bearer ${key.key}`, ...headers },
    ...(body === undefined ? {} : { body }),
  });
}

const binaryHeaders = (event: ReturnType<typeof base>) => ({
  'ce-specversion': event.specversion,
  'ce-id': event.id,
  'ce-source': event.source,
  'ce-type': event.type,
});

async function accepted(response: Response): Promise<string> {
  const body = (await response.json()) as EventAccepted;
  expect(response.status, JSON.stringify(body)).toBe(200);
  return body.data.event_id;
}

/** Stores what the queue carried as the consumer does, then reads it back as a CloudEvent. */
async function roundTrip(key: TestKey, eventId: string): Promise<{ message: QueuedEvent; back: Response }> {
  const message = await queued(eventId);
  await storeQueued(message);
  const back = await call(`/events/${eventId}`, {
    headers: { authorization: `Bearer ${key.key}`, accept: STRUCTURED },
  });
  return { message, back };
}

describe('CloudEvents in structured mode', () => {
  it('queues the event with its type, source, subject and every other attribute, extensions included', async () => {
    const key = await newApiKey();
    const event = {
      ...base(),
      subject: 'order/42',
      time: '2026-12-02T10:00:00.123+01:00',
      dataschema: 'https://shop.example/schemas/order.json',
      traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
      priority: 3,
      urgent: false,
      data: { order: 42 },
    };
    const { message } = await roundTrip(key, await accepted(await postStructured(key, event)));
    expect(message).toMatchObject({
      type: 'order.created',
      source: 'https://shop.example/orders',
      subject: 'order/42',
      payload: { order: 42 },
      cloudevent: {
        specversion: '1.0',
        id: event.id,
        time: event.time,
        dataschema: event.dataschema,
        extensions: { traceparent: event.traceparent, priority: 3, urgent: false },
        data_encoding: 'json',
      },
    });
  });

  it('round-trips JSON data and extensions: GET with Accept: application/cloudevents+json answers an equal event', async () => {
    const key = await newApiKey();
    const event = {
      ...base(),
      subject: 'order/42',
      datacontenttype: 'application/json',
      partitionkey: 'p-1',
      sequence: 7,
      data: [{ order: 42 }, 'two', null],
    };
    const { back } = await roundTrip(key, await accepted(await postStructured(key, event)));
    expect(back.headers.get('content-type')).toMatch(/^application\/cloudevents\+json/);
    expect(await back.json()).toEqual(event);
  });

  it('round-trips XML data sent as a string with its content type, unchanged', async () => {
    const key = await newApiKey();
    const event = { ...base(), datacontenttype: 'application/xml', data: '<order id="42">é &amp; ü</order>' };
    const { message, back } = await roundTrip(key, await accepted(await postStructured(key, event)));
    expect(message.cloudevent?.data_encoding).toBe('text');
    expect(await back.json()).toEqual(event);
  });

  it('round-trips data_base64 as the same base64 text', async () => {
    const key = await newApiKey();
    const event = { ...base(), datacontenttype: 'image/png', data_base64: 'iVBORw0KGgoAAAANSUhEUg==' };
    const { message, back } = await roundTrip(key, await accepted(await postStructured(key, event)));
    expect(message).toMatchObject({ payload: event.data_base64, cloudevent: { data_encoding: 'base64' } });
    expect(await back.json()).toEqual(event);
  });

  it('accepts an event without data, stored with a null payload and given back without data', async () => {
    const key = await newApiKey();
    const event = base();
    const { message, back } = await roundTrip(key, await accepted(await postStructured(key, event)));
    expect(message.payload).toBeNull();
    expect(await back.json()).toEqual(event);
  });

  it('accepts an extension name longer than 20 characters, which the spec only recommends against', async () => {
    const key = await newApiKey();
    const event = { ...base(), averyveryverylongextensionname: 'kept' };
    const { back } = await roundTrip(key, await accepted(await postStructured(key, event)));
    expect(await back.json()).toEqual(event);
  });

  it('carries a test key’s debug flag like any event', async () => {
    const key = await newApiKey('test');
    const eventId = await accepted(await postStructured(key, base(), '?debug=dlq_routing'));
    expect((await queued(eventId)).debug).toBe('dlq_routing');
  });
});

describe('CloudEvents conformance: 400 naming the attribute', () => {
  it.each([
    ['specversion missing', { specversion: undefined }, 'specversion'],
    ['specversion other than 1.0', { specversion: '0.3' }, 'specversion'],
    ['id missing', { id: undefined }, 'id'],
    ['id empty', { id: '' }, 'id'],
    ['source missing', { source: undefined }, 'source'],
    ['source not a URI-reference', { source: 'not a uri' }, 'source'],
    ['type missing', { type: undefined }, 'type'],
    ['type empty', { type: '' }, 'type'],
    ['type longer than an event type may be', { type: 'a'.repeat(MAX_IDENTITY_LENGTH + 1) }, 'type'],
    ['type with a lone surrogate', { type: 'order.\ud800' }, 'type'],
    [
      'subject longer than an event subject may be',
      { subject: 's'.repeat(MAX_IDENTITY_LENGTH + 1) },
      'subject',
    ],
    [
      'source longer than an event source may be',
      { source: `/${'s'.repeat(MAX_IDENTITY_LENGTH)}` },
      'source',
    ],
    ['time not RFC 3339', { time: '2026-12-02 10:00' }, 'time'],
    ['time naming no real day', { time: '2026-02-30T10:00:00Z' }, 'time'],
    ['dataschema not an absolute URI', { dataschema: 'schemas/order.json' }, 'dataschema'],
    ['an attribute name with upper-case letters', { myExt: 'x' }, 'myExt'],
    ['an attribute name with a dash', { 'my-ext': 'x' }, 'my-ext'],
    ['an extension that is an object', { ext: { a: 1 } }, 'ext'],
    ['an extension that is not an integer', { ext: 1.5 }, 'ext'],
    ['data together with data_base64', { data: 'a', data_base64: 'YQ==' }, 'data_base64'],
    ['data_base64 that is not base64', { data_base64: 'not base64!' }, 'data_base64'],
  ])('refuses %s', async (_rule, change, attribute) => {
    const key = await newApiKey();
    const body = await expectError(
      await postStructured(key, { ...base(), ...change }),
      400,
      'VALIDATION_ERROR',
    );
    expect(body.error.details?.issues?.map((issue) => issue.path)).toEqual([attribute]);
  });

  it('refuses a binary-mode event without ce-id, naming the header', async () => {
    const key = await newApiKey();
    const { 'ce-id': _id, ...headers } = binaryHeaders(base());
    const body = await expectError(await postBinary(key, headers), 400, 'VALIDATION_ERROR');
    expect(body.error.details?.issues).toEqual([{ path: 'headers.ce-id', message: 'is required' }]);
  });

  it('refuses a binary-mode header whose percent-encoding is broken, naming it', async () => {
    const key = await newApiKey();
    const body = await expectError(
      await postBinary(key, { ...binaryHeaders(base()), 'ce-subject': 'order%zz' }),
      400,
      'VALIDATION_ERROR',
    );
    expect(body.error.details?.issues?.map((issue) => issue.path)).toEqual(['headers.ce-subject']);
  });

  it('quotes a long attribute name that is not one cut to 64 characters, in structured and binary mode', async () => {
    const key = await newApiKey();
    const name = 'A'.repeat(5_000);
    const structured = await expectError(
      await postStructured(key, { ...base(), [name]: 1 }),
      400,
      'VALIDATION_ERROR',
    );
    const binary = await expectError(
      await postBinary(key, { ...binaryHeaders(base()), [`ce-${'a-'.repeat(2_000)}`]: 'x' }),
      400,
      'VALIDATION_ERROR',
    );
    for (const body of [structured, binary]) {
      const [issue] = body.error.details?.issues ?? [];
      expect(issue?.path.length).toBeLessThanOrEqual(MAX_ECHO_CHARS + 1);
      expect(body.error.message.length).toBeLessThan(300);
    }
  });

  it('refuses binary-mode JSON data nested deeper than an event may be, as the JSON API does, whatever the depth', async () => {
    const key = await newApiKey();
    for (const levels of [MAX_JSON_DEPTH + 1, 60_000]) {
      const body = await expectError(
        await postBinary(
          key,
          { ...binaryHeaders(base()), 'content-type': 'application/json' },
          '['.repeat(levels) + ']'.repeat(levels),
        ),
        400,
        'VALIDATION_ERROR',
      );
      expect(body.error.details?.issues?.[0]?.path).toBe('data');
    }
  });

  it('refuses an Idempotency-Key header on a CloudEvent, whose source and id are its key', async () => {
    const key = await newApiKey();
    const response = await call('/events', {
      method: 'POST',
      headers: { authorization: `Bearer ${key.key}`, 'content-type': STRUCTURED, 'idempotency-key': 'k1' },
      body: JSON.stringify(base()),
    });
    const body = await expectError(response, 400, 'VALIDATION_ERROR');
    expect(body.error.details?.issues?.[0]?.path).toBe('headers.idempotency-key');
  });
});

describe('CloudEvents in binary mode', () => {
  it('round-trips JSON data, percent-decoding header values', async () => {
    const key = await newApiKey();
    const event = base();
    const response = await postBinary(
      key,
      { ...binaryHeaders(event), 'ce-subject': 'caf%C3%A9 %25', 'content-type': 'application/json' },
      JSON.stringify({ order: 42 }),
    );
    const { back } = await roundTrip(key, await accepted(response));
    expect(await back.json()).toEqual({
      ...event,
      subject: 'café %',
      datacontenttype: 'application/json',
      data: { order: 42 },
    });
  });

  it('round-trips an XML body as text, byte for byte', async () => {
    const key = await newApiKey();
    const event = base();
    const xml = '<?xml version="1.0"?>\n<order id="42">ü</order>';
    const response = await postBinary(
      key,
      { ...binaryHeaders(event), 'content-type': 'application/xml' },
      xml,
    );
    const { message, back } = await roundTrip(key, await accepted(response));
    expect(message.cloudevent?.data_encoding).toBe('text');
    expect(await back.json()).toEqual({ ...event, datacontenttype: 'application/xml', data: xml });
  });

  it('round-trips a binary body as base64 of the exact bytes, extensions from ce- headers kept', async () => {
    const key = await newApiKey();
    const event = base();
    const bytes = new Uint8Array([0, 255, 1, 254, 137, 80, 78, 71]);
    const response = await postBinary(
      key,
      { ...binaryHeaders(event), 'ce-traceparent': '00-abc-01', 'content-type': 'application/octet-stream' },
      bytes,
    );
    const { back } = await roundTrip(key, await accepted(response));
    const ce = (await back.json()) as Record<string, string>;
    expect(ce).toEqual({
      ...event,
      traceparent: '00-abc-01',
      datacontenttype: 'application/octet-stream',
      data_base64: btoa(String.fromCharCode(...bytes)),
    });
  });

  it('refuses a JSON body that is not JSON with 400 INVALID_JSON', async () => {
    const key = await newApiKey();
    const response = await postBinary(
      key,
      { ...binaryHeaders(base()), 'content-type': 'application/json' },
      '{',
    );
    await expectError(response, 400, 'INVALID_JSON');
  });
});

describe('CloudEvents idempotency: source + id', () => {
  it('gives a resent event the same event_id, and the store keeps one row', async () => {
    const key = await newApiKey();
    const event = { ...base(), data: { n: 1 } };
    const first = await accepted(await postStructured(key, event));
    const second = await accepted(await postStructured(key, event));
    expect(second).toBe(first);
    const message = await queued(first);
    expect((await storeQueued(message)).delivered).toEqual([first]);
    expect((await storeQueued(message)).delivered).toEqual([]);
    const rows = await runInDurableObject(env.TENANTS.get(env.TENANTS.idFromName(key.id)), (_, state) =>
      state.storage.sql.exec('SELECT event_id FROM events WHERE event_id = ?', first).toArray(),
    );
    expect(rows).toHaveLength(1);
  });

  it('gives the same id from another source, or from another API key, another event_id', async () => {
    const key = await newApiKey();
    const other = await newApiKey();
    const event = base();
    const first = await accepted(await postStructured(key, event));
    const otherSource = await accepted(await postStructured(key, { ...event, source: '/another' }));
    const otherKey = await accepted(await postStructured(other, event));
    expect(new Set([first, otherSource, otherKey]).size).toBe(3);
  });

  it('gives the same event sent in binary and in structured mode the same event_id', async () => {
    const key = await newApiKey();
    const event = base();
    const structured = await accepted(await postStructured(key, event));
    const binary = await accepted(await postBinary(key, binaryHeaders(event)));
    expect(binary).toBe(structured);
  });
});

describe('CloudEvents in batch mode', () => {
  it('answers each item on its own, in order, and queues the valid ones', async () => {
    const key = await newApiKey();
    const good = { ...base(), data: { n: 1 } };
    const response = await call('/events/batch', {
      method: 'POST',
      headers: { authorization: `Bearer ${key.key}`, 'content-type': 'application/cloudevents-batch+json' },
      body: JSON.stringify([good, { ...base(), specversion: '0.3' }]),
    });
    const body = (await response.json()) as BatchAccepted;
    expect(response.status).toBe(200);
    expect(body.data).toMatchObject({ accepted: 1, rejected: 1 });
    expect(body.data.results[1]).toMatchObject({
      index: 1,
      status: 'rejected',
      error: { code: 'VALIDATION_ERROR', issues: [{ path: '1.specversion' }] },
    });
    const first = body.data.results[0];
    if (first?.status !== 'accepted') throw new Error('expected the first item accepted');
    expect(await queued(first.event_id)).toMatchObject({ type: 'order.created', payload: { n: 1 } });
  });

  it('refuses a body that is not an array with 400', async () => {
    const key = await newApiKey();
    const response = await call('/events/batch', {
      method: 'POST',
      headers: { authorization: `Bearer ${key.key}`, 'content-type': 'application/cloudevents-batch+json' },
      body: JSON.stringify(base()),
    });
    await expectError(response, 400, 'VALIDATION_ERROR');
  });
});

describe('event identity in the JSON API and the inbox', () => {
  async function sendJson(key: TestKey, fields: Record<string, unknown>): Promise<string> {
    const response = await call('/events', {
      method: 'POST',
      headers: { authorization: `Bearer ${key.key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ payload: { n: 1 }, ...fields }),
    });
    const eventId = await accepted(response);
    await storeQueued(await queued(eventId));
    return eventId;
  }

  const inbox = async (key: TestKey, query: string) => {
    const response = await call(`/inbox?${query}`, { headers: { authorization: `Bearer ${key.key}` } });
    expect(response.status).toBe(200);
    return ((await response.json()) as InboxPage).data.events.map((event) => event.event_id).sort();
  };

  it('stores type, source and subject of a JSON API event and returns them from GET /events/{id}', async () => {
    const key = await newApiKey();
    const eventId = await sendJson(key, { type: 'order.created', source: '/shop', subject: 'order/1' });
    const response = await call(`/events/${eventId}`, { headers: { authorization: `Bearer ${key.key}` } });
    expect(((await response.json()) as EventDetails).data).toMatchObject({
      type: 'order.created',
      source: '/shop',
      subject: 'order/1',
      cloudevent: null,
    });
  });

  it('refuses a JSON API source that is not a URI-reference, naming it', async () => {
    const key = await newApiKey();
    const response = await call('/events', {
      method: 'POST',
      headers: { authorization: `Bearer ${key.key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ payload: {}, source: 'has spaces' }),
    });
    const body = await expectError(response, 400, 'VALIDATION_ERROR');
    expect(body.error.details?.issues?.map((issue) => issue.path)).toEqual(['source']);
  });

  it('refuses a JSON API type or subject with a lone surrogate, which could not be stored as sent, naming it', async () => {
    const key = await newApiKey();
    for (const field of ['type', 'subject']) {
      const response = await call('/events', {
        method: 'POST',
        headers: { authorization: `Bearer ${key.key}`, 'content-type': 'application/json' },
        // Written as JSON text: JSON.stringify would escape the surrogate the same way.
        body: `{"payload":{},"${field}":"order.\\ud800"}`,
      });
      const body = await expectError(response, 400, 'VALIDATION_ERROR');
      expect(body.error.details?.issues?.map((issue) => issue.path)).toEqual([field]);
    }
  });

  it('gives a JSON API event back as a CloudEvent: event_id as id, received_at as time, payload as data', async () => {
    const key = await newApiKey();
    const eventId = await sendJson(key, {});
    const response = await call(`/events/${eventId}`, {
      headers: { authorization: `Bearer ${key.key}`, accept: STRUCTURED },
    });
    expect(await response.json()).toMatchObject({
      specversion: '1.0',
      id: eventId,
      source: `/api-keys/${key.id}`,
      type: 'triggers.event',
      datacontenttype: 'application/json',
      data: { n: 1 },
    });
  });

  it('filters GET /inbox by exact type, by type prefix (order.*) and by source', async () => {
    const key = await newApiKey();
    const created = await sendJson(key, { type: 'order.created', source: '/shop' });
    const paid = await sendJson(key, { type: 'order.paid', source: '/billing' });
    const orders = await sendJson(key, { type: 'orders', source: '/shop' });
    const untyped = await sendJson(key, {});
    expect(await inbox(key, 'type=order.created')).toEqual([created]);
    expect(await inbox(key, 'type=order.*')).toEqual([created, paid].sort());
    expect(await inbox(key, 'type=order*')).toEqual([created, paid, orders].sort());
    expect(await inbox(key, 'type=triggers.event')).toEqual([untyped]);
    expect(await inbox(key, 'source=%2Fshop')).toEqual([created, orders].sort());
    expect(await inbox(key, 'type=order.*&source=%2Fshop')).toEqual([created]);
  });

  it('refuses ?type=* alone with 400', async () => {
    const key = await newApiKey();
    const response = await call('/inbox?type=*', { headers: { authorization: `Bearer ${key.key}` } });
    const body = await expectError(response, 400, 'VALIDATION_ERROR');
    expect(body.error.details?.issues?.map((issue) => issue.path)).toEqual(['query.type']);
  });
});
