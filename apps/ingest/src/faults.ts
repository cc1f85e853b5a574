import { faultsFor, flakyQueue } from '@triggers/faults';
import type { IngestEnv } from './env.ts';

/**
 * The bindings with the faults `FAULTS` asks for (the fault suite only): a fraction of queue sends
 * refused. With `FAULTS` empty, or outside a local `ENVIRONMENT` (see `faultsFor`), `env` itself.
 */
export function withFaults(env: IngestEnv): IngestEnv {
  const faults = faultsFor(env);
  if (!faults?.queue_send) return env;
  return { ...env, EVENT_QUEUE: flakyQueue(env.EVENT_QUEUE, faults.queue_send) };
}
