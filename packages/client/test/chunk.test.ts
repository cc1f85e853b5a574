import { MAX_BATCH_BYTES, MAX_BATCH_EVENTS } from '@triggers/event-schema';
import { describe, expect, it } from 'vitest';
import { chunkBatch } from '../src/chunk.ts';

const bytes = (s: string) => new TextEncoder().encode(s).byteLength;

describe('chunkBatch', () => {
  it(`splits by count: ${2 * MAX_BATCH_EVENTS + 1} small items make runs of ${MAX_BATCH_EVENTS}, ${MAX_BATCH_EVENTS} and 1`, () => {
    const items = Array.from({ length: 2 * MAX_BATCH_EVENTS + 1 }, (_, i) => ({ payload: { i } }));
    const { chunks, oversized } = chunkBatch(items);
    expect(chunks.map((c) => [c.offset, c.count])).toEqual([
      [0, MAX_BATCH_EVENTS],
      [MAX_BATCH_EVENTS, MAX_BATCH_EVENTS],
      [2 * MAX_BATCH_EVENTS, 1],
    ]);
    expect(oversized).toEqual([]);
    expect(JSON.parse(chunks[2]?.body ?? '')).toEqual({ events: [{ payload: { i: 2 * MAX_BATCH_EVENTS } }] });
  });

  it(`splits by bytes: every body is valid JSON of at most ${MAX_BATCH_BYTES} bytes and the items stay in order`, () => {
    const items = Array.from({ length: 25 }, (_, i) => ({ payload: { i, s: 'é'.repeat(30_000) } }));
    const { chunks } = chunkBatch(items);
    expect(chunks.length).toBeGreaterThan(1);
    for (const chunk of chunks) expect(bytes(chunk.body)).toBeLessThanOrEqual(MAX_BATCH_BYTES);
    const order = chunks.flatMap((c) =>
      JSON.parse(c.body).events.map((e: { payload: { i: number } }) => e.payload.i),
    );
    expect(order).toEqual(items.map((_, i) => i));
  });

  it('fills a body to exactly the byte limit and starts a new one for a byte more', () => {
    const overhead = bytes('{"events":[,]}');
    const first = { s: 'a'.repeat(500_000) };
    const fill = (room: number) => ({ s: 'b'.repeat(room - bytes(JSON.stringify({ s: '' }))) });
    const exact = [first, fill(MAX_BATCH_BYTES - overhead - bytes(JSON.stringify(first)))];
    expect(chunkBatch(exact).chunks.map((c) => bytes(c.body))).toEqual([MAX_BATCH_BYTES]);
    const over = [first, fill(MAX_BATCH_BYTES - overhead - bytes(JSON.stringify(first)) + 1)];
    expect(chunkBatch(over).chunks.map((c) => c.count)).toEqual([1, 1]);
  });

  it('leaves out an item too large for any batch and keeps the runs around it contiguous', () => {
    const items = [{ n: 0 }, { s: 'x'.repeat(MAX_BATCH_BYTES) }, { n: 2 }];
    const { chunks, oversized } = chunkBatch(items);
    expect(oversized).toEqual([1]);
    expect(chunks.map((c) => [c.offset, c.count])).toEqual([
      [0, 1],
      [2, 1],
    ]);
  });
});
