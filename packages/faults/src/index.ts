/**
 * Fault injection for the fault suite (packages/system-tests): the Workers read the `FAULTS` var,
 * which every committed wrangler.toml leaves empty (a test checks), so deployed Workers never
 * inject anything. Only failures the local platform cannot produce on demand are injected here:
 * a queue refusing a send, and a consumer invocation dying. A failing store needs no hook: the
 * suite makes the real local D1 refuse writes.
 *
 * @example
 *   wrangler dev --var 'FAULTS:{"queue_send":0.1,"consumer_batch_throw":0.1}'
 */
import * as v from 'valibot';

const Rate = v.pipe(v.number(), v.minValue(0), v.maxValue(1));

export const Faults = v.strictObject({
  /** Fraction of the ingest Worker's `send`/`sendBatch` calls that reject. */
  queue_send: v.optional(Rate, 0),
  /** Fraction of the consumer's event-queue batches whose handler throws before doing anything. */
  consumer_batch_throw: v.optional(Rate, 0),
});
export type Faults = v.InferOutput<typeof Faults>;

/** The error an injected fault raises, so logs tell it from a real one. */
export class InjectedFault extends Error {
  override name = 'InjectedFault';
}

let parsed: { raw: string; faults: Faults } | undefined;

/**
 * The faults `FAULTS` asks for, or `undefined` when it is empty (always, outside the fault suite).
 * A malformed value throws: a fault suite that injects nothing must fail loudly, not pass.
 */
export function parseFaults(raw: string | undefined): Faults | undefined {
  if (!raw) return undefined;
  if (parsed?.raw !== raw) parsed = { raw, faults: v.parse(Faults, JSON.parse(raw)) };
  return parsed.faults;
}

/** True for a fraction `rate` of calls. */
export function failsNow(rate: number, random: () => number = Math.random): boolean {
  return rate > 0 && random() < rate;
}

interface Producer {
  send(...args: never[]): Promise<unknown>;
  sendBatch(...args: never[]): Promise<unknown>;
}

/** `queue` with a fraction `rate` of its sends rejected, as a full or unavailable queue would. */
export function flakyQueue<Q extends Producer>(
  queue: Q,
  rate: number,
  random: () => number = Math.random,
): Q {
  if (rate <= 0) return queue;
  return new Proxy(queue, {
    get(target, property) {
      const value = Reflect.get(target, property);
      if (typeof value !== 'function') return value;
      if (property !== 'send' && property !== 'sendBatch') return value.bind(target);
      return (...args: unknown[]) =>
        failsNow(rate, random)
          ? Promise.reject(new InjectedFault(`injected fault: queue ${property} refused`))
          : value.apply(target, args);
    },
  });
}
