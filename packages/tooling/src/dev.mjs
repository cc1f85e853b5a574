#!/usr/bin/env node
// `pnpm dev`: the whole system on this machine, in one wrangler process.
//
// Seeds the story's test key (local state only; no key lives in the Workers' code), then runs
// the Workers with `wrangler dev -c … -c …` so they share the local queues, D1 and KV.
// The ingest Worker answers on http://localhost:8787 (override with PORT).
import { spawn } from 'node:child_process';
import { ingestConfig, persistTo, seedApiKeys, wranglerBin } from './local.mjs';

/** The key the story's curl commands use. Seeded into local development only. */
const STORY_TEST_KEY = 'sk_test_abc123xyz789';

const port = process.env.PORT ?? '8787';

const [{ record }] = await seedApiKeys([
  { key: STORY_TEST_KEY, id: 'key_local_test', name: 'Local development test key' },
]);
console.log(`Seeded the local test key ${STORY_TEST_KEY} (id ${record.id}).`);

const child = spawn(
  process.execPath,
  [
    wranglerBin,
    'dev',
    '-c',
    ingestConfig,
    '--persist-to',
    persistTo,
    '--port',
    port,
    '--ip',
    '127.0.0.1',
    '--show-interactive-dev-session=false',
  ],
  {
    stdio: 'inherit',
    env: { ...process.env, WRANGLER_SEND_METRICS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false' },
  },
);
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
child.on('exit', (code) => process.exit(code ?? 0));
