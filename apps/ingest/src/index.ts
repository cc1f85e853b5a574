import { env } from 'cloudflare:workers';
import { faultsFor } from '@triggers/faults';
import type { IngestEnv } from './env.ts';
import { withFaults } from './faults.ts';
import { eventQueues } from './lib/event-queues.ts';
import { router } from './router.ts';

// Read once as the module loads: a malformed FAULTS stops a local Worker from starting, with a
// message saying what is wrong, instead of failing every request (deployed, it is not read).
faultsFor(env);
// Likewise EVENT_QUEUE_SHARDS and the queue bindings it needs (lib/event-queues.ts): a deploy that
// asks for a shard it has no binding for fails at startup, naming both, instead of losing events.
eventQueues(env);

export default {
  fetch: (request, env, ctx) => router.fetch(request, withFaults(env), ctx),
} satisfies ExportedHandler<IngestEnv>;
