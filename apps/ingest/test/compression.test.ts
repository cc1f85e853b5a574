import type { BatchAccepted, ErrorEnvelope, EventAccepted } from '@triggers/event-schema';
import { MAX_EVENT_BYTES } from '@triggers/event-schema';
import { describe, expect, it } from 'vitest';
import { newApiKey, post, queued } from './support/ingest.ts';

const encoder = new TextEncoder();

async function compress(data: string | Uint8Array, format: 'gzip' | 'deflate'): Promise<Uint8Array> {
  const bytes = typeof data === 'string' ? encoder.encode(data) : data;
  const stream = new Blob([bytes]).stream().pipeThrough(new CompressionStream(format));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** A POST /events body of exactly `size` bytes. */
const eventOfSize = (size: number) => {
  const empty = JSON.stringify({ payload: { s: '' } }).length;
  return JSON.stringify({ payload: { s: 'a'.repeat(size - empty) } });
};

describe('Content-Encoding on POST /events and POST /events/batch', () => {
  it('accepts a gzip event and queues it decompressed', async () => {
    const key = await newApiKey();
    const body = await compress(JSON.stringify({ payload: { zipped: 'gzip' } }), 'gzip');
    const res = await post('/events', key, body, { 'content-encoding': 'gzip' });
    expect(res.status).toBe(200);
    const { data } = (await res.json()) as EventAccepted;
    expect((await queued(data.event_id)).payload).toEqual({ zipped: 'gzip' });
  });

  it('accepts a deflate batch and an x-gzip event', async () => {
    const key = await newApiKey();
    const batch = await compress(
      JSON.stringify({ events: [{ payload: { n: 1 } }, { payload: { n: 2 } }] }),
      'deflate',
    );
    const res = await post('/events/batch', key, batch, { 'content-encoding': 'deflate' });
    expect(res.status).toBe(200);
    const { data } = (await res.json()) as BatchAccepted;
    expect(data.accepted).toBe(2);
    const single = await compress(JSON.stringify({ payload: {} }), 'gzip');
    expect((await post('/events', key, single, { 'content-encoding': 'x-gzip' })).status).toBe(200);
  });

  it('applies the size limit to the decompressed bytes: exactly the limit is accepted, one more byte is 413', async () => {
    const key = await newApiKey();
    const atLimit = await compress(eventOfSize(MAX_EVENT_BYTES), 'gzip');
    expect(atLimit.byteLength).toBeLessThan(1_000);
    expect((await post('/events', key, atLimit, { 'content-encoding': 'gzip' })).status).toBe(200);

    const overLimit = await compress(eventOfSize(MAX_EVENT_BYTES + 1), 'gzip');
    const res = await post('/events', key, overLimit, { 'content-encoding': 'gzip' });
    expect(res.status).toBe(413);
    const { error } = (await res.json()) as ErrorEnvelope;
    expect(error.code).toBe('PAYLOAD_TOO_LARGE');
    expect(error.details?.limit_bytes).toBe(MAX_EVENT_BYTES);
  });

  it('answers a small gzip bomb (20 KB that inflates to 20 MB) with 413 instead of inflating it', async () => {
    const key = await newApiKey();
    const chunk = 'a'.repeat(64 * 1024);
    const inflated = `{"payload":{"s":"${chunk.repeat(320)}"}}`;
    const bomb = await compress(inflated, 'gzip');
    expect(bomb.byteLength).toBeLessThan(MAX_EVENT_BYTES / 4);
    const res = await post('/events', key, bomb, { 'content-encoding': 'gzip' });
    expect(res.status).toBe(413);
    expect(((await res.json()) as ErrorEnvelope).error.message).toContain(String(MAX_EVENT_BYTES));
  });

  it('cuts off with 413 a compressed stream that keeps arriving without producing output', async () => {
    const key = await newApiKey();
    // A zlib stream of empty, non-final stored blocks (5 bytes each, no output): valid deflate
    // that never ends. Sent chunked (no Content-Length), it must be cut off soon after the
    // compressed bytes pass the limit (the stream stops itself at 100 times the limit).
    const emptyBlocks = new Uint8Array(5 * 10_000);
    for (let i = 0; i < 10_000; i++) emptyBlocks.set([0x00, 0x00, 0x00, 0xff, 0xff], i * 5);
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new Uint8Array([0x78, 0x01]));
      },
      pull(controller) {
        sent += emptyBlocks.byteLength;
        if (sent > 100 * MAX_EVENT_BYTES) controller.close();
        else controller.enqueue(emptyBlocks);
      },
    });
    const res = await post('/events', key, body, { 'content-encoding': 'deflate' });
    expect(res.status).toBe(413);
    expect(((await res.json()) as ErrorEnvelope).error.details?.limit_bytes).toBe(MAX_EVENT_BYTES);
    expect(sent).toBeLessThan(3 * MAX_EVENT_BYTES);
  });

  it.each([
    ['bytes that are not gzip at all', async () => encoder.encode('{"payload":{}}')],
    [
      'a truncated gzip stream',
      async () => (await compress(JSON.stringify({ payload: { n: 1 } }), 'gzip')).slice(0, 20),
    ],
  ])('answers 400 INVALID_ENCODING for %s', async (_case, makeBody) => {
    const key = await newApiKey();
    const res = await post('/events', key, await makeBody(), { 'content-encoding': 'gzip' });
    expect(res.status).toBe(400);
    const { error } = (await res.json()) as ErrorEnvelope;
    expect(error.code).toBe('INVALID_ENCODING');
    expect(error.message).toContain('gzip');
  });

  it.each(['br', 'zstd', 'gzip, br', 'constructor'])(
    'answers 415 for Content-Encoding "%s", listing the accepted codings',
    async (coding) => {
      const key = await newApiKey();
      const res = await post(
        '/events/batch',
        key,
        { events: [{ payload: {} }] },
        { 'content-encoding': coding },
      );
      expect(res.status).toBe(415);
      expect(res.headers.get('accept-encoding')).toBe('gzip, deflate');
      const { error } = (await res.json()) as ErrorEnvelope;
      expect(error.code).toBe('UNSUPPORTED_MEDIA_TYPE');
      expect(error.details?.allowed).toEqual(['gzip', 'deflate', 'identity']);
    },
  );

  it('treats Content-Encoding: identity as uncompressed', async () => {
    const key = await newApiKey();
    const res = await post('/events', key, { payload: { plain: true } }, { 'content-encoding': 'identity' });
    expect(res.status).toBe(200);
  });
});
