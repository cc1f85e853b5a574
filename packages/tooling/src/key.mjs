#!/usr/bin/env node
// API keys for the AUTH_KV namespace (local by default, `--remote` for the account's).
//
//   pnpm key:create --name "billing service" --mode live
//   pnpm key:revoke --id key_abc
//
// The key is printed once and never stored: AUTH_KV keeps only its SHA-256 hash.
import { parseArgs } from 'node:util';
import { createApiKey, idKey, recordKey } from '@triggers/api-keys';
import { kvGet, kvPut } from './local.mjs';

const [command, ...rest] = process.argv.slice(2);
const { values } = parseArgs({
  args: rest,
  options: {
    name: { type: 'string' },
    mode: { type: 'string', default: 'test' },
    id: { type: 'string' },
    remote: { type: 'boolean', default: false },
  },
});
const target = { remote: values.remote };

if (command === 'create') {
  if (!values.name || !['test', 'live'].includes(values.mode)) {
    console.error('usage: triggers-key create --name NAME [--mode test|live] [--remote]');
    process.exit(2);
  }
  const { key, hash, record } = await createApiKey({ name: values.name, mode: values.mode });
  kvPut(
    [
      [recordKey(hash), JSON.stringify(record)],
      [idKey(record.id), hash],
    ],
    target,
  );
  console.log(
    `Created ${record.mode} key ${record.id} ("${record.name}") in ${values.remote ? 'the remote' : 'the local'} AUTH_KV.`,
  );
  console.log('Key (shown once, store it now):');
  console.log(key);
} else if (command === 'revoke') {
  if (!values.id) {
    console.error('usage: triggers-key revoke --id KEY_ID [--remote]');
    process.exit(2);
  }
  const hash = kvGet(idKey(values.id), target)?.trim();
  const raw = hash ? kvGet(recordKey(hash), target) : null;
  if (!hash || !raw) {
    console.error(`No key with id ${values.id}.`);
    process.exit(1);
  }
  kvPut([[recordKey(hash), JSON.stringify({ ...JSON.parse(raw), revoked: true })]], target);
  console.log(`Revoked ${values.id}.`);
} else {
  console.error('usage: triggers-key create|revoke ...');
  process.exit(2);
}
