/**
 * Runs the tooling's commands as `pnpm key:create` and friends do: the package's bin files, in a
 * child Node process, from the repo root. Nothing is mocked: they call the real wrangler.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { root } from '../../src/local.mjs';

const bins = {
  key: join(import.meta.dirname, '..', '..', 'src', 'key.mjs'),
  events: join(import.meta.dirname, '..', '..', 'src', 'events.mjs'),
  retention: join(import.meta.dirname, '..', '..', 'src', 'retention.mjs'),
  'store-migrate': join(import.meta.dirname, '..', '..', 'src', 'store-migrate.mjs'),
  'tenant-erase': join(import.meta.dirname, '..', '..', 'src', 'tenant-erase.mjs'),
  'tenants-list': join(import.meta.dirname, '..', '..', 'src', 'tenants-list.mjs'),
};

export interface CommandResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `triggers-<command> ...args` to completion, with `env` over ours. */
export function runCommand(
  command: keyof typeof bins,
  args: string[],
  env: NodeJS.ProcessEnv = {},
): CommandResult {
  const result = spawnSync(process.execPath, [bins[command], ...args], {
    cwd: root,
    encoding: 'utf8',
    timeout: 120_000,
    env: { ...process.env, ...env },
  });
  if (result.error) throw result.error;
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** `triggers-key create` into the local state in `persistTo`; returns the new key and its id. */
export function createKey(persistTo: string, name: string): { key: string; id: string } {
  const created = runCommand('key', ['create', '--name', name, '--persist-to', persistTo]);
  if (created.status !== 0) throw new Error(`key create failed:\n${created.stdout}${created.stderr}`);
  const id = /\bkey (key_\w+)/.exec(created.stdout)?.[1];
  const key = /^(sk_test_\w+)$/m.exec(created.stdout)?.[1];
  if (!id || !key) throw new Error(`key create printed no key and id:\n${created.stdout}`);
  return { key, id };
}
