import { describe, expect, it } from 'vitest';
import {
  chunkBySize,
  jsonChunks,
  MAX_BATCH_BYTES,
  MAX_BATCH_EVENTS,
  QUEUE_PLATFORM_OVERHEAD_BYTES,
  SEND_BATCH_LIMIT_BYTES,
  SEND_BATCH_MAX_MESSAGES,
  sendBatchChunks,
  utf8Bytes,
} from '../src/index.ts';

const BATCH_BODY = {
  maxItems: MAX_BATCH_EVENTS,
  maxBytes: MAX_BATCH_BYTES,
  open: '{"events":[',
  close: ']}',
};

describe('utf8Bytes', () => {
  it('counts the UTF-8 bytes of ASCII, multi-byte characters and lone surrogates as the encoder writes them', () => {
    const texts = [
      '',
      'plain ascii {"a":1}',
      '\u007f',
      'é',
      '€uro',
      '😀',
      'a\ud800b',
      '\udfff',
      `${'x'.repeat(1000)}ü`,
      '😀'.repeat(8192),
      `${'€'.repeat(16_384)}x`,
    ];
    for (const text of texts) expect(utf8Bytes(text)).toBe(new TextEncoder().encode(text).byteLength);
    expect(utf8Bytes('é€😀')).toBe(2 + 3 + 4);
  });
});

describe('chunkBySize', () => {
  it('cuts after maxItems items and keeps every item in order', () => {
    const items = Array.from({ length: 250 }, (_, i) => i);
    const runs = chunkBySize(items, () => 1, { maxItems: 100, maxBytes: 1_000 });
    expect(runs.map((run) => run.length)).toEqual([100, 100, 50]);
    expect(runs.flat()).toEqual(items);
  });

  it('cuts before an item that would pass maxBytes, counting overhead and separators', () => {
    // 2 + 10 + 1 + 10 + 1 + 10 = 34 fits 34; a fourth item would not.
    const runs = chunkBySize([10, 10, 10, 10], (size) => size, {
      maxBytes: 34,
      overheadBytes: 2,
      separatorBytes: 1,
    });
    expect(runs).toEqual([[10, 10, 10], [10]]);
  });

  it('gives an item larger than a whole run a run of its own rather than dropping it', () => {
    expect(chunkBySize([1, 500, 1], (size) => size, { maxBytes: 100 })).toEqual([[1], [500], [1]]);
  });

  it('returns no runs for no items', () => {
    expect(chunkBySize([], () => 1, { maxBytes: 100 })).toEqual([]);
  });
});

describe('sendBatchChunks', () => {
  it(`cuts after ${SEND_BATCH_MAX_MESSAGES} messages`, () => {
    const runs = sendBatchChunks(
      Array.from({ length: 250 }, (_, i) => i),
      () => 1,
    );
    expect(runs.map((run) => run.length)).toEqual([100, 100, 50]);
  });

  it(`counts the platform's ${QUEUE_PLATFORM_OVERHEAD_BYTES} bytes per message against ${SEND_BATCH_LIMIT_BYTES}`, () => {
    // Four messages of a quarter each fill a call exactly; a byte more and the fourth waits.
    const quarter = SEND_BATCH_LIMIT_BYTES / 4 - QUEUE_PLATFORM_OVERHEAD_BYTES;
    const full = sendBatchChunks([quarter, quarter, quarter, quarter, 1], (size) => size);
    expect(full.map((run) => run.length)).toEqual([4, 1]);
    const over = sendBatchChunks([quarter + 1, quarter, quarter, quarter], (size) => size);
    expect(over.map((run) => run.length)).toEqual([3, 1]);
  });
});

describe('jsonChunks', () => {
  it('puts items that fit together into a single JSON array, in order', () => {
    const items = Array.from({ length: 100 }, (_, i) => ({ i }));
    const chunks = jsonChunks(items, { maxBytes: 10_000 });
    expect(chunks).toHaveLength(1);
    expect(JSON.parse(chunks[0]?.text ?? '')).toEqual(items);
  });

  it('splits so that no array exceeds the byte limit, counting UTF-8 bytes, and loses nothing', () => {
    const items = Array.from({ length: 50 }, (_, i) => ({ i, text: 'é€😀'.repeat(20) }));
    const chunks = jsonChunks(items, { maxBytes: 1_000 });
    expect(chunks.length).toBeGreaterThan(1);
    for (const chunk of chunks) {
      expect(utf8Bytes(chunk.text)).toBe(chunk.bytes);
      expect(chunk.bytes).toBeLessThanOrEqual(1_000);
    }
    expect(chunks.flatMap((chunk) => JSON.parse(chunk.text))).toEqual(items);
  });

  it('gives an item larger than the limit a text of its own, over the limit, rather than dropping it', () => {
    const big = { text: 'x'.repeat(500) };
    const chunks = jsonChunks([{ a: 1 }, big, { b: 2 }], { maxBytes: 100 });
    expect(chunks.map((chunk) => JSON.parse(chunk.text))).toEqual([[{ a: 1 }], [big], [{ b: 2 }]]);
    expect(chunks.map((chunk) => [chunk.offset, chunk.count, chunk.bytes > 100])).toEqual([
      [0, 1, false],
      [1, 1, true],
      [2, 1, false],
    ]);
  });

  it('returns no text for no items', () => {
    expect(jsonChunks([], { maxBytes: 100 })).toEqual([]);
  });

  it(`splits batch bodies by count: ${2 * MAX_BATCH_EVENTS + 1} small items make runs of ${MAX_BATCH_EVENTS}, ${MAX_BATCH_EVENTS} and 1`, () => {
    const items = Array.from({ length: 2 * MAX_BATCH_EVENTS + 1 }, (_, i) => ({ payload: { i } }));
    const chunks = jsonChunks(items, BATCH_BODY);
    expect(chunks.map((c) => [c.offset, c.count])).toEqual([
      [0, MAX_BATCH_EVENTS],
      [MAX_BATCH_EVENTS, MAX_BATCH_EVENTS],
      [2 * MAX_BATCH_EVENTS, 1],
    ]);
    expect(JSON.parse(chunks[2]?.text ?? '')).toEqual({ events: [{ payload: { i: 2 * MAX_BATCH_EVENTS } }] });
  });

  it(`splits batch bodies by bytes: each valid JSON of at most ${MAX_BATCH_BYTES} bytes, items in order`, () => {
    const items = Array.from({ length: 25 }, (_, i) => ({ payload: { i, s: 'é'.repeat(30_000) } }));
    const chunks = jsonChunks(items, BATCH_BODY);
    expect(chunks.length).toBeGreaterThan(1);
    for (const chunk of chunks) expect(utf8Bytes(chunk.text)).toBeLessThanOrEqual(MAX_BATCH_BYTES);
    const order = chunks.flatMap((c) =>
      JSON.parse(c.text).events.map((e: { payload: { i: number } }) => e.payload.i),
    );
    expect(order).toEqual(items.map((_, i) => i));
  });

  it('fills a text to exactly the byte limit and starts a new one for a byte more', () => {
    const overhead = utf8Bytes('{"events":[,]}');
    const first = { s: 'a'.repeat(500_000) };
    const fill = (room: number) => ({ s: 'b'.repeat(room - utf8Bytes(JSON.stringify({ s: '' }))) });
    const room = MAX_BATCH_BYTES - overhead - utf8Bytes(JSON.stringify(first));
    expect(jsonChunks([first, fill(room)], BATCH_BODY).map((c) => c.bytes)).toEqual([MAX_BATCH_BYTES]);
    expect(jsonChunks([first, fill(room + 1)], BATCH_BODY).map((c) => c.count)).toEqual([1, 1]);
  });
});
