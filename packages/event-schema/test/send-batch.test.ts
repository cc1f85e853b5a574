import { describe, expect, it } from 'vitest';
import { SEND_BATCH_LIMIT_BYTES, SEND_BATCH_MAX_MESSAGES, sendBatchChunks } from '../src/index.ts';

describe('sendBatchChunks', () => {
  it(`cuts after ${SEND_BATCH_MAX_MESSAGES} messages`, () => {
    const chunks = sendBatchChunks(
      Array.from({ length: 250 }, (_, i) => i),
      () => 1,
    );
    expect(chunks.map((chunk) => chunk.length)).toEqual([100, 100, 50]);
    expect(chunks.flat()).toEqual(Array.from({ length: 250 }, (_, i) => i));
  });

  it('cuts before a message that would pass the byte limit', () => {
    const third = Math.floor(SEND_BATCH_LIMIT_BYTES / 3);
    const chunks = sendBatchChunks([third, third, third, third, 1], (size) => size);
    expect(chunks).toEqual([
      [third, third, third],
      [third, 1],
    ]);
  });

  it('gives a message larger than a whole call a run of its own', () => {
    const huge = SEND_BATCH_LIMIT_BYTES + 1;
    expect(sendBatchChunks([1, huge, 1], (size) => size)).toEqual([[1], [huge], [1]]);
  });

  it('returns no runs for no messages', () => {
    expect(sendBatchChunks([], () => 1)).toEqual([]);
  });
});
