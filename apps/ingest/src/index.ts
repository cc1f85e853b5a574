import { env } from 'cloudflare:workers';
import { faultsFor } from '@triggers/faults';
import type { IngestEnv } from './env.ts';
import { withFaults } from './faults.ts';
import { router } from './router.ts';

// Read once as the module loads: a malformed FAULTS stops a local Worker from starting, with a
// message saying what is wrong, instead of failing every request (deployed, it is not read).
faultsFor(env);

export default {
  fetch: (request, env, ctx) => router.fetch(request, withFaults(env), ctx),
} satisfies ExportedHandler<IngestEnv>;
