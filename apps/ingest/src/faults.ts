import { EVENT_QUEUE_BINDINGS } from '@triggers/event-schema';
import { faultsFor, flakyQueue } from '@triggers/faults';
import type { IngestEnv } from './env.ts';

/**
 * The bindings with the faults `FAULTS` asks for (the fault suite only): a fraction of queue sends
 * refused, on every shard of `event-queue`. With `FAULTS` empty, or outside a local `ENVIRONMENT`
 * (see `faultsFor`), `env` itself.
 */
export function withFaults(env: IngestEnv): IngestEnv {
  const faults = faultsFor(env);
  if (!faults?.queue_send) return env;
  const rate = faults.queue_send;
  const flaky = EVENT_QUEUE_BINDINGS.flatMap((binding) => {
    const queue = env[binding];
    return queue === undefined ? [] : [[binding, flakyQueue(queue, rate)] as const];
  });
  return { ...env, ...Object.fromEntries(flaky) };
}
