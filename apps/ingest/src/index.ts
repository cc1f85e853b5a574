import type { IngestEnv } from './env.ts';
import { withFaults } from './faults.ts';
import { router } from './router.ts';

export default {
  fetch: (request, env, ctx) => router.fetch(request, withFaults(env), ctx),
} satisfies ExportedHandler<IngestEnv>;
