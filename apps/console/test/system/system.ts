/**
 * The system both console suites drive: the console, ingest and consumer Workers in one
 * `wrangler dev`, shared by the two files (sharedSystem, @triggers/tooling/system; vitest runs them
 * in one process, vitest.system.config.ts), each file with an API key of its own. The webhook
 * retry schedule is shortened to one retry after 1 s (DELIVERY_SCHEDULE, the documented knob) for
 * the subscriptions suite; the other subscribes nothing.
 */
import { type System, sharedSystem } from '@triggers/tooling/system';

/** The shared system, with a test key named `name` seeded for the calling suite. */
export function consoleSystem(name: string): Promise<System<'test'>> {
  return sharedSystem({
    console: true,
    keys: { test: { mode: 'test', name } },
    vars: { DELIVERY_SCHEDULE: '1' },
  });
}
