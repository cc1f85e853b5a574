#!/usr/bin/env node
// @ts-check
// `pnpm dev`: the whole system on this machine, in one wrangler process.
//
// Applies the event store's migrations to the local D1, seeds the story's test key (local state
// only; no key lives in the Workers' code), makes sure the ingest and consumer Workers run as
// development (wrangler.toml's top level is production: DEV_VARS go to each app's .dev.vars) and
// the ingest Worker has a local operator token (apps/ingest/.dev.vars, created when absent),
// builds the console, then runs the three Workers with
// `wrangler dev -c console -c ingest -c consumer` so they share the local queues, D1 and KV. The
// console Worker comes first, so it is the one answering on http://localhost:8787 (override with
// PORT): the console's pages, and every other path forwarded unchanged to the ingest Worker, so
// the API answers there as before. The consumer stores what is enqueued once a batch fills or its
// timeout (30 s) passes.
import {
  buildConsole,
  consoleConfig,
  consumerConfig,
  ensureDevVars,
  ensureOperatorToken,
  ingestConfig,
  migrateLocalD1,
  seedApiKeys,
  spawnDev,
} from './local.mjs';

/** The key the story's curl commands use, and its id. Seeded into local development only. */
const STORY_TEST_KEY = 'sk_test_abc123xyz789';
const STORY_TEST_KEY_ID = 'key_local_test';

const port = process.env.PORT ?? '8787';

migrateLocalD1();
console.log('Applied the event store migrations to the local D1.');

await seedApiKeys([{ key: STORY_TEST_KEY, id: STORY_TEST_KEY_ID, name: 'Local development test key' }]);
console.log(`Seeded the local test key ${STORY_TEST_KEY} (id ${STORY_TEST_KEY_ID}).`);

const environments = ensureDevVars().map(({ ENVIRONMENT }) => ENVIRONMENT);
console.log(
  `Local values in apps/ingest/.dev.vars and apps/consumer/.dev.vars: ENVIRONMENT ${environments.join(', ')}.`,
);

const operator = ensureOperatorToken();
console.log(
  `${operator.created ? 'Created' : 'Using'} the local operator token in apps/ingest/.dev.vars: ${operator.token}`,
);

buildConsole();
console.log('Built the console (apps/console/dist).');
console.log(`\nConsole: http://localhost:${port}/  (sign in with ${STORY_TEST_KEY})`);
console.log(`API:     http://localhost:${port}  (the same origin: the console forwards API paths)`);
console.log(
  `Health:  curl -H "Authorization: Bearer ${operator.token}" http://localhost:${port}/health  (with the store's size)\n`,
);

const child = spawnDev({ port, stdio: 'inherit', configs: [consoleConfig, ingestConfig, consumerConfig] });
for (const signal of /** @type {const} */ (['SIGINT', 'SIGTERM']))
  process.on(signal, () => child.kill(signal));
child.on('exit', (code) => process.exit(code ?? 0));
