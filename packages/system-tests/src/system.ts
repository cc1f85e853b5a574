import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ingestConfig, seedApiKeys } from '@triggers/tooling/local';
import { startWorkers } from '@triggers/tooling/system';

export interface LocalSystem {
  url: string;
  port: number;
  keys: { test: string; live: string; revoked: string };
  stop(): Promise<void>;
}

/**
 * The Workers under `wrangler dev`, as the README starts them, on a free port with their own
 * throw-away state and three API keys: a test key, a live key and a revoked one.
 */
export async function startSystem(): Promise<LocalSystem> {
  const state = mkdtempSync(join(tmpdir(), 'triggers-system-'));
  const [test, live, revoked]: Array<{ key: string } | undefined> = await seedApiKeys(
    [
      { mode: 'test', name: 'system test' },
      { mode: 'live', name: 'system live' },
      { mode: 'test', name: 'system revoked', revoked: true },
    ],
    { dir: state },
  );
  if (!test || !live || !revoked) throw new Error('seeding the API keys failed');
  const workers = await startWorkers({ configs: [ingestConfig], persistTo: state });
  return {
    url: workers.url,
    port: Number(new URL(workers.url).port),
    keys: { test: test.key, live: live.key, revoked: revoked.key },
    async stop() {
      await workers.stop();
      rmSync(state, { recursive: true, force: true });
    },
  };
}
