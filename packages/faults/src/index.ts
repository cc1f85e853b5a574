/**
 * Fault injection for the fault suite (packages/system-tests): the Workers read the `FAULTS` var
 * through {@link faultsFor}, which honours it only where `ENVIRONMENT` is a local one
 * ({@link FAULT_ENVIRONMENTS}). Every committed wrangler.toml leaves it empty too (a test checks),
 * but even a deployed configuration that set it would inject nothing. Only failures the local platform cannot produce on demand are injected here:
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

/** What `FAULTS` must look like, quoted by the error a malformed value raises. */
const EXAMPLE = '{"queue_send":0.1,"consumer_batch_throw":0.2}';

/**
 * The faults `FAULTS` asks for, or `undefined` when it is empty (always, outside the fault suite).
 * A malformed value throws an error saying what is wrong: a fault suite that injects nothing must
 * fail loudly, not pass.
 */
export function parseFaults(raw: string | undefined): Faults | undefined {
  if (!raw) return undefined;
  if (parsed?.raw !== raw) {
    let json: unknown;
    try {
      json = JSON.parse(raw);
    } catch {
      throw new Error(`FAULTS is not JSON; expected an object such as ${EXAMPLE}`);
    }
    const result = v.safeParse(Faults, json);
    if (!result.success) {
      const problems = result.issues.map((issue) => `${v.getDotPath(issue) ?? 'FAULTS'}: ${issue.message}`);
      throw new Error(`FAULTS is malformed (${problems.join('; ')}); expected an object such as ${EXAMPLE}`);
    }
    parsed = { raw, faults: result.output };
  }
  return parsed.faults;
}

/**
 * The `ENVIRONMENT` values where `FAULTS` takes effect: `development` (wrangler dev, the fault
 * suite) and `test` (the vitest runtime). Anywhere else, staging and production included, it is
 * ignored unread.
 */
export const FAULT_ENVIRONMENTS: readonly string[] = ['development', 'test'];

/**
 * The faults a Worker should inject: {@link parseFaults} of `FAULTS` where `ENVIRONMENT` is one
 * of {@link FAULT_ENVIRONMENTS}, else `undefined` whatever `FAULTS` holds. Each Worker calls it
 * once when its module loads, so a malformed value stops a local Worker from starting with the
 * message above instead of failing every request; deployed, it is never parsed.
 */
export function faultsFor(env: { ENVIRONMENT?: string; FAULTS?: string }): Faults | undefined {
  if (env.ENVIRONMENT === undefined || !FAULT_ENVIRONMENTS.includes(env.ENVIRONMENT)) return undefined;
  return parseFaults(env.FAULTS);
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
