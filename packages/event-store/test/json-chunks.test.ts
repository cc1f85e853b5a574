import { describe, expect, it } from 'vitest';
import { jsonChunks } from '../src/index.ts';

const bytes = (text: string) => new TextEncoder().encode(text).byteLength;

describe('jsonChunks', () => {
  it('puts items that fit together into a single JSON array, in order', () => {
    const items = Array.from({ length: 100 }, (_, i) => ({ i }));
    const chunks = jsonChunks(items, 10_000);
    expect(chunks).toHaveLength(1);
    expect(JSON.parse(chunks[0] as string)).toEqual(items);
  });

  it('splits so that no array exceeds the byte limit, counting UTF-8 bytes, and loses nothing', () => {
    const items = Array.from({ length: 50 }, (_, i) => ({ i, text: 'é€😀'.repeat(20) }));
    const chunks = jsonChunks(items, 1_000);
    expect(chunks.length).toBeGreaterThan(1);
    for (const chunk of chunks) expect(bytes(chunk)).toBeLessThanOrEqual(1_000);
    expect(chunks.flatMap((chunk) => JSON.parse(chunk))).toEqual(items);
  });

  it('gives an item larger than the limit an array of its own rather than dropping it', () => {
    const big = { text: 'x'.repeat(500) };
    const chunks = jsonChunks([{ a: 1 }, big, { b: 2 }], 100);
    expect(chunks.map((chunk) => JSON.parse(chunk))).toEqual([[{ a: 1 }], [big], [{ b: 2 }]]);
  });

  it('returns no array for no items', () => {
    expect(jsonChunks([])).toEqual([]);
  });
});
