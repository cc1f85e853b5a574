import { flakyQueue, parseFaults } from '@triggers/faults';
import type { IngestEnv } from './env.ts';

/**
 * The bindings with the faults `FAULTS` asks for (the fault suite only): a fraction of queue sends
 * refused. With `FAULTS` empty, as deployed, `env` itself.
 */
export function withFaults(env: IngestEnv): IngestEnv {
  const faults = parseFaults(env.FAULTS);
  if (!faults?.queue_send) return env;
  return { ...env, EVENT_QUEUE: flakyQueue(env.EVENT_QUEUE, faults.queue_send) };
}
