/**
 * The isolate's memory of store sizes (src/lib/store-room.ts): when it asks a store, when it
 * answers from what it knew, and how much it keeps. `ask` counts its calls; the clock is passed in.
 */
import { describe, expect, it } from 'vitest';
import { StoreSizes } from '../src/lib/store-room.ts';

/** An `ask` answering `sizes` in turn (an Error rejects), with the number of calls made. */
function asker(...sizes: (number | Error)[]) {
  const calls = { n: 0 };
  const ask = async () => {
    const next = sizes[Math.min(calls.n++, sizes.length - 1)];
    if (next instanceof Error) throw next;
    return next ?? 0;
  };
  return { ask, calls };
}

/** A `waitUntil` that keeps what it was given, to await it. */
function background() {
  const pending: Promise<unknown>[] = [];
  return {
    waitUntil: (p: Promise<unknown>) => void pending.push(p),
    settle: () => Promise.all(pending),
    pending,
  };
}

describe('StoreSizes', () => {
  it('asks an unknown store and waits for it, then answers from memory within the TTL', async () => {
    const sizes = new StoreSizes(60_000);
    const { ask, calls } = asker(500);
    const bg = background();
    expect(await sizes.bytes('t', ask, bg.waitUntil, 0)).toBe(500);
    expect(await sizes.bytes('t', ask, bg.waitUntil, 59_999)).toBe(500);
    expect(calls.n).toBe(1);
    expect(bg.pending).toHaveLength(0);
  });

  it('past the TTL answers the size it knew and asks again once, in the background', async () => {
    const sizes = new StoreSizes(60_000);
    let answer = (_bytes: number) => {};
    let calls = 0;
    const ask = () => {
      calls++;
      return calls === 1 ? Promise.resolve(500) : new Promise<number>((resolve) => (answer = resolve));
    };
    const bg = background();
    await sizes.bytes('t', ask, bg.waitUntil, 0);
    // The refresh is still waiting for the store: both sends answer from memory, one question out.
    expect(await sizes.bytes('t', ask, bg.waitUntil, 60_000)).toBe(500);
    expect(await sizes.bytes('t', ask, bg.waitUntil, 60_001)).toBe(500);
    expect(calls).toBe(2);
    expect(bg.pending).toHaveLength(1);
    answer(900);
    await bg.settle();
    expect(await sizes.bytes('t', ask, bg.waitUntil, 60_002)).toBe(900);
    expect(calls).toBe(2);
  });

  it('answers null when an unknown store cannot say, and keeps the old size when a refresh fails', async () => {
    const sizes = new StoreSizes(60_000);
    const bg = background();
    expect(await sizes.bytes('down', asker(new Error('overloaded')).ask, bg.waitUntil, 0)).toBeNull();
    const { ask } = asker(500, new Error('overloaded'), 700);
    await sizes.bytes('t', ask, bg.waitUntil, 0);
    expect(await sizes.bytes('t', ask, bg.waitUntil, 60_000)).toBe(500);
    await bg.settle();
    // Still the old size, and the next send past the TTL tries again.
    expect(await sizes.bytes('t', ask, bg.waitUntil, 60_001)).toBe(500);
    await bg.settle();
    expect(await sizes.bytes('t', ask, bg.waitUntil, 60_002)).toBe(700);
  });

  it('keeps at most maxEntries stores, forgetting the one learned longest ago', async () => {
    const sizes = new StoreSizes(60_000, 2);
    const bg = background();
    const a = asker(1);
    await sizes.bytes('a', a.ask, bg.waitUntil, 0);
    await sizes.bytes('b', asker(2).ask, bg.waitUntil, 1);
    await sizes.bytes('c', asker(3).ask, bg.waitUntil, 2);
    expect(sizes.size).toBe(2);
    await sizes.bytes('a', a.ask, bg.waitUntil, 3);
    expect(a.calls.n).toBe(2); // forgotten, so asked again
  });
});
