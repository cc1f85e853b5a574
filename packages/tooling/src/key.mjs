#!/usr/bin/env node
// @ts-check
// API keys for the AUTH_KV namespace: the local state of `pnpm dev` by default, `--remote` for the
// account's, `--persist-to DIR` for another local state (as `wrangler dev --persist-to DIR`).
//
//   pnpm key:create --name "billing service" --mode live
//   pnpm key:revoke --id key_abc
//
// The key is printed once and never stored: AUTH_KV keeps only its SHA-256 hash. A running Worker
// notices a revocation once its cached lookup of the key expires (KEY_CACHE_TTL_MS in the ingest
// Worker's lib/key-cache.ts: 30 s; deployed, KV's own edge cache adds up to 60 s).
import { parseArgs } from 'node:util';
import { createApiKey, idKey, recordKey } from '@triggers/api-keys';
import { kvGet, kvPut, persistTo } from './local.mjs';

const USAGE = `usage:
  triggers-key create --name NAME [--mode test|live] [--remote | --persist-to DIR]
  triggers-key revoke --id KEY_ID [--remote | --persist-to DIR]`;

/** @param {string} message @returns {never} */
function usage(message) {
  console.error(`${message}\n${USAGE}`);
  process.exit(2);
}

/** @param {string} mode @returns {mode is 'test' | 'live'} */
const isMode = (mode) => mode === 'test' || mode === 'live';

const [command, ...rest] = process.argv.slice(2);
let values;
try {
  ({ values } = parseArgs({
    // `pnpm key:create -- --name x` passes the `--` along.
    args: rest.filter((arg) => arg !== '--'),
    options: {
      name: { type: 'string' },
      mode: { type: 'string', default: 'test' },
      id: { type: 'string' },
      remote: { type: 'boolean', default: false },
      'persist-to': { type: 'string', default: persistTo },
    },
  }));
} catch (err) {
  usage(err instanceof Error ? err.message : String(err));
}
const target = { remote: values.remote, persistTo: values['persist-to'] };
const where = values.remote ? 'the remote AUTH_KV' : `the local AUTH_KV in ${target.persistTo}`;

if (command === 'create') {
  if (!values.name) usage('create needs --name.');
  if (!isMode(values.mode)) usage(`--mode must be test or live, not "${values.mode}".`);
  const { key, hash, record } = await createApiKey({ name: values.name, mode: values.mode });
  kvPut(
    [
      [recordKey(hash), JSON.stringify(record)],
      [idKey(record.id), hash],
    ],
    target,
  );
  console.log(`Created ${record.mode} key ${record.id} ("${record.name}") in ${where}.`);
  console.log('Key (shown once, store it now):');
  console.log(key);
} else if (command === 'revoke') {
  if (!values.id) usage('revoke needs --id.');
  const hash = kvGet(idKey(values.id), target)?.trim();
  const raw = hash ? kvGet(recordKey(hash), target) : null;
  if (!hash || !raw) {
    console.error(`No key with id ${values.id} in ${where}.`);
    process.exit(1);
  }
  kvPut([[recordKey(hash), JSON.stringify({ ...JSON.parse(raw), revoked: true })]], target);
  console.log(
    `Revoked ${values.id} in ${where}. Running Workers refuse it within 30 s (their key cache)` +
      `${values.remote ? ', plus up to 60 s of KV edge caching' : ''}.`,
  );
} else {
  usage(command ? `Unknown command "${command}".` : 'Which command?');
}
