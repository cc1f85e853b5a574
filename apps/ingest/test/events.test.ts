import { env } from 'cloudflare:workers';
import type { EventAccepted } from '@triggers/event-schema';
import { MAX_EVENT_BYTES, MAX_JSON_DEPTH, MAX_QUEUED_EVENT_BYTES, QueuedEvent } from '@triggers/event-schema';
import * as v from 'valibot';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { HEALTH_CACHE_MS } from '../src/routes/health.ts';
import {
  call,
  expectError,
  pastHealthCache,
  postEvent,
  receivedFromQueue,
  seedKey,
} from './support/ingest.ts';

let key: string;
let keyId: string;
beforeAll(async () => {
  const seeded = await seedKey();
  key = seeded.key;
  keyId = seeded.record.id;
});
afterEach(() => vi.restoreAllMocks());

/** Watches `send` without changing it: the real queue still receives every message. */
const watchSend = () => vi.spyOn(env.EVENT_QUEUE, 'send');

describe('POST /events: accepted events', () => {
  it('answers 200 with the event id only after the event is on the queue, in the documented shape', async () => {
    const response = await postEvent(key, {
      payload: { order: 42, items: ['a', 'b'] },
      metadata: { source: 'shop' },
    });
    expect(response.status).toBe(200);
    const body = (await response.json()) as EventAccepted;
    expect(body).toEqual({
      data: { event_id: expect.any(String), status: 'accepted', timestamp: expect.any(String) },
      timestamp: expect.any(String),
    });
    expect(body.data.event_id).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );

    const { body: queued, attempts } = await receivedFromQueue(body.data.event_id);
    expect(attempts).toBe(1);
    expect(v.parse(QueuedEvent, queued)).toEqual({
      event_id: body.data.event_id,
      payload: { order: 42, items: ['a', 'b'] },
      metadata: { source: 'shop' },
      timestamp: body.data.timestamp,
      correlation_id: response.headers.get('x-correlation-id'),
      api_key_id: keyId,
    });
  });

  it('accepts an event without metadata and puts no metadata field on the queue', async () => {
    const response = await postEvent(key, { payload: { a: 1 } });
    const { data } = (await response.json()) as EventAccepted;
    const { body: queued } = await receivedFromQueue(data.event_id);
    expect('metadata' in queued).toBe(false);
    expect('debug' in queued).toBe(false);
  });

  it('keeps payload keys such as __proto__ and constructor intact', async () => {
    const raw = '{"payload":{"__proto__":{"polluted":true},"constructor":"c","prototype":1}}';
    const response = await postEvent(key, raw);
    const { data } = (await response.json()) as EventAccepted;
    const { body: queued } = await receivedFromQueue(data.event_id);
    expect(Object.keys(queued.payload as object).sort()).toEqual(['__proto__', 'constructor', 'prototype']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('accepts a charset parameter of utf-8 on the content type', async () => {
    const response = await postEvent(
      key,
      { payload: {} },
      { headers: { 'content-type': 'application/json; charset=UTF-8' } },
    );
    expect(response.status).toBe(200);
  });

  it('accepts a body of exactly the size limit', async () => {
    const filler = 'x'.repeat(MAX_EVENT_BYTES - '{"payload":{"f":""}}'.length);
    const raw = `{"payload":{"f":"${filler}"}}`;
    expect(new TextEncoder().encode(raw).byteLength).toBe(MAX_EVENT_BYTES);
    expect((await postEvent(key, raw)).status).toBe(200);
  });
});

describe('POST /events: validation', () => {
  it.each([
    ['payload is missing', { metadata: {} }, 'payload', 'is required'],
    ['payload is an array', { payload: [1, 2] }, 'payload', 'must be a JSON object'],
    ['payload is a string', { payload: 'text' }, 'payload', 'must be a JSON object'],
    ['payload is null', { payload: null }, 'payload', 'must be a JSON object'],
    ['metadata is an array', { payload: {}, metadata: [] }, 'metadata', 'must be a JSON object'],
    ['metadata is a number', { payload: {}, metadata: 3 }, 'metadata', 'must be a JSON object'],
    ['an unknown field is sent', { payload: {}, extra: true }, 'extra', 'is not a recognised field'],
  ])('answers 400 VALIDATION_ERROR with the field path when %s', async (_case, body, path, message) => {
    const send = watchSend();
    const error = await expectError(await postEvent(key, body), 400, 'VALIDATION_ERROR');
    expect(error.error.details?.issues).toContainEqual({ path, message });
    expect(send).not.toHaveBeenCalled();
  });

  it.each([
    ['an array', '[1,2,3]'],
    ['a string', '"hello"'],
    ['null', 'null'],
  ])('answers 400 VALIDATION_ERROR when the body is %s', async (_case, raw) => {
    const error = await expectError(await postEvent(key, raw), 400, 'VALIDATION_ERROR');
    expect(error.error.details?.issues?.[0]?.message).toBe('must be a JSON object');
  });

  it('lists every problem of the body at once', async () => {
    const error = await expectError(await postEvent(key, { metadata: 1, other: 2 }), 400, 'VALIDATION_ERROR');
    expect(error.error.details?.issues?.map((issue) => issue.path).sort()).toEqual([
      'metadata',
      'other',
      'payload',
    ]);
  });

  it(`answers 400 for a payload nested deeper than ${MAX_JSON_DEPTH} levels`, async () => {
    let deep: unknown = {};
    for (let i = 0; i < MAX_JSON_DEPTH; i++) deep = { d: deep };
    const error = await expectError(await postEvent(key, { payload: deep }), 400, 'VALIDATION_ERROR');
    expect(error.error.details?.issues?.[0]?.path).toBe('payload');
  });

  it(`accepts a payload nested exactly ${MAX_JSON_DEPTH} levels`, async () => {
    let deep: unknown = {};
    for (let i = 1; i < MAX_JSON_DEPTH; i++) deep = { d: deep };
    expect((await postEvent(key, { payload: deep })).status).toBe(200);
  });

  it.each([
    ['truncated JSON', '{"payload": {"a": 1}'],
    ['trailing garbage', '{"payload": {}} x'],
    ['single quotes', "{'payload': {}}"],
    ['an empty body', ''],
  ])('answers 400 INVALID_JSON for %s', async (_case, raw) => {
    const send = watchSend();
    await expectError(await postEvent(key, raw), 400, 'INVALID_JSON');
    expect(send).not.toHaveBeenCalled();
  });

  it('answers 400 INVALID_JSON for a body that is not valid UTF-8', async () => {
    const bytes = new Uint8Array([
      ...new TextEncoder().encode('{"payload":{"a":"'),
      0xff,
      0xfe,
      ...new TextEncoder().encode('"}}'),
    ]);
    const response = await call('/events', {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: bytes,
    });
    const error = await expectError(response, 400, 'INVALID_JSON');
    expect(error.error.message).toMatch(/UTF-8/);
  });
});

describe('POST /events: content type and size', () => {
  it.each([
    ['text/plain', 'text/plain'],
    ['form data', 'application/x-www-form-urlencoded'],
    ['XML', 'application/xml'],
    ['JSON in another charset', 'application/json; charset=latin1'],
    ['a lookalike type', 'application/jsonp'],
  ])('answers 415 for %s', async (_case, type) => {
    const error = await expectError(
      await postEvent(key, { payload: {} }, { headers: { 'content-type': type } }),
      415,
      'UNSUPPORTED_MEDIA_TYPE',
    );
    expect(error.error.details?.allowed).toEqual(['application/json', 'application/cloudevents+json']);
  });

  it('answers 415 when there is no Content-Type', async () => {
    const response = await call('/events', {
      method: 'POST',
      headers: { authorization: `Bearer ${key}` },
      body: new TextEncoder().encode('{"payload":{}}'),
    });
    await expectError(response, 415, 'UNSUPPORTED_MEDIA_TYPE');
  });

  it('answers 413 for a body over the limit announced by Content-Length', async () => {
    const raw = `{"payload":{"f":"${'x'.repeat(MAX_EVENT_BYTES)}"}}`;
    const send = watchSend();
    const error = await expectError(await postEvent(key, raw), 413, 'PAYLOAD_TOO_LARGE');
    expect(error.error.details?.limit_bytes).toBe(MAX_EVENT_BYTES);
    expect(error.error.message).toContain(String(MAX_EVENT_BYTES));
    expect(send).not.toHaveBeenCalled();
  });

  it('answers 413 for a streamed body without Content-Length once it passes the limit', async () => {
    let pulled = 0;
    const chunk = new TextEncoder().encode('x'.repeat(16_384));
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode('{"payload":{"f":"'));
      },
      pull(controller) {
        pulled += chunk.byteLength;
        // An endless body: only the limit stops it.
        controller.enqueue(chunk);
        if (pulled > 10 * MAX_EVENT_BYTES) controller.close();
      },
    });
    const request = new Request('https://ingest.test/events', {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: stream,
    });
    expect(request.headers.get('content-length')).toBeNull();
    const { exports } = await import('cloudflare:workers');
    await expectError(await exports.default.fetch(request), 413, 'PAYLOAD_TOO_LARGE');
    expect(pulled).toBeLessThan(2 * MAX_EVENT_BYTES);
  });

  it('answers 413 when the body fits but the queued event would exceed the queue message limit', async () => {
    // 1e20 is 4 bytes as written and 21 bytes once re-serialized.
    const numbers = Array.from({ length: 20_000 }, () => '1e20').join(',');
    const raw = `{"payload":{"n":[${numbers}]}}`;
    expect(raw.length).toBeLessThan(MAX_EVENT_BYTES);
    const send = watchSend();
    const error = await expectError(await postEvent(key, raw), 413, 'PAYLOAD_TOO_LARGE');
    expect(error.error.details?.limit_bytes).toBe(MAX_QUEUED_EVENT_BYTES);
    expect(send).not.toHaveBeenCalled();
  });
});

describe('POST /events: queue failures', () => {
  it('answers 503 SERVICE_UNAVAILABLE with Retry-After and accepts nothing when the queue send fails', async () => {
    // Mocked: the local queue cannot be made to refuse a message on demand.
    const send = vi
      .spyOn(env.EVENT_QUEUE, 'send')
      .mockRejectedValue(new Error('Queue send failed: Too Many Requests'));
    const response = await postEvent(key, { payload: { a: 1 } });
    const error = await expectError(response, 503, 'SERVICE_UNAVAILABLE');
    expect(response.headers.get('retry-after')).toBe('2');
    expect(error.error.message).not.toMatch(/Too Many Requests/);
    expect(send).toHaveBeenCalledTimes(1);
  });
});

describe('routing', () => {
  it('answers 404 NOT_FOUND in the envelope for an unknown path', async () => {
    await expectError(await call('/nope'), 404, 'NOT_FOUND');
  });

  it.each(['GET', 'PUT', 'DELETE', 'PATCH'])(
    'answers 405 with Allow: POST for %s /events',
    async (method) => {
      const response = await call('/events', { method });
      const error = await expectError(response, 405, 'METHOD_NOT_ALLOWED');
      expect(response.headers.get('allow')).toBe('POST');
      expect(error.error.details?.allowed).toEqual(['POST']);
    },
  );

  it('answers 405 with Allow: GET for POST /health', async () => {
    const response = await call('/health', { method: 'POST' });
    await expectError(response, 405, 'METHOD_NOT_ALLOWED');
    expect(response.headers.get('allow')).toBe('GET');
  });
});

describe('GET /health', () => {
  afterEach(() => vi.useRealTimers());

  it('reports its bindings answering, and nothing else: no environment name', async () => {
    pastHealthCache();
    const response = await call('/health');
    expect(response.status).toBe(200);
    const body = (await response.json()) as { data: Record<string, unknown> };
    expect(body.data).toEqual({ status: 'ok', checks: { auth_kv: 'ok', event_queue: 'configured' } });
  });

  it('reads the key store at most once per cache period, however often it is called', async () => {
    pastHealthCache();
    const get = vi.spyOn(env.AUTH_KV, 'get'); // watches only
    const responses = await Promise.all(Array.from({ length: 50 }, () => call('/health')));
    for (let i = 0; i < 50; i++) expect((await call('/health')).status).toBe(200);
    expect(responses.every((r) => r.status === 200)).toBe(true);
    expect(get).toHaveBeenCalledTimes(1);
  });

  it('answers 503 with the Retry-After of every 503 when the key store does not answer, until a later check succeeds', async () => {
    pastHealthCache();
    // Mocked: a local KV namespace cannot be made to fail on demand.
    const get = vi.spyOn(env.AUTH_KV, 'get').mockRejectedValue(new Error('down'));
    const response = await call('/health');
    await expectError(response, 503, 'SERVICE_UNAVAILABLE');
    expect(response.headers.get('retry-after')).toBe('2');
    get.mockRestore();
    expect((await call('/health')).status).toBe(503);
    vi.setSystemTime(Date.now() + HEALTH_CACHE_MS + 1);
    expect((await call('/health')).status).toBe(200);
  });
});
