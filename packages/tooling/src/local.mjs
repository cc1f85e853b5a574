// Shared by the local commands: where the repo is, where local state lives, how to call wrangler.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** Local D1, KV and queue state of `pnpm dev`, shared by both Workers. */
export const persistTo = join(root, '.wrangler', 'state');

export const ingestConfig = join(root, 'apps', 'ingest', 'wrangler.toml');
export const consumerConfig = join(root, 'apps', 'consumer', 'wrangler.toml');

/** `node <this> …` runs the workspace's pinned wrangler, whatever is on PATH. */
export const wranglerBin = join(
  dirname(createRequire(import.meta.url).resolve('wrangler/package.json')),
  'bin',
  'wrangler.js',
);

/** Runs wrangler to completion; throws with its output when it fails. */
export function wrangler(args, { quiet = true } = {}) {
  const result = spawnSync(process.execPath, [wranglerBin, ...args], {
    cwd: root,
    encoding: 'utf8',
    stdio: quiet ? 'pipe' : 'inherit',
    env: { ...process.env, WRANGLER_SEND_METRICS: 'false' },
  });
  if (result.error) throw result.error;
  if (result.status !== 0) {
    throw new Error(`wrangler ${args.join(' ')} failed:\n${result.stdout ?? ''}${result.stderr ?? ''}`);
  }
  return result.stdout ?? '';
}

/** Where `--remote` was given, the Cloudflare account's KV; otherwise the local state in `dir`. */
function kvTarget(remote, stateDir) {
  return remote ? ['--remote'] : ['--local', '--persist-to', stateDir];
}

/**
 * Registers API keys in the local `AUTH_KV` state in `persistTo` in one wrangler call, as
 * `pnpm key:create` would.
 * @param {Array<{ key?: string, mode?: 'test' | 'live', name?: string, id?: string, revoked?: boolean }>} specs
 * @returns the created keys with their records, in order.
 */
export async function seedApiKeys(specs, { persistTo: stateDir = persistTo } = {}) {
  const { createApiKey, idKey, recordKey } = await import('@triggers/api-keys');
  const created = [];
  for (const { key, mode = 'test', name = 'local key', id, revoked = false } of specs) {
    const made = await createApiKey({ name, mode, key, id });
    made.record.revoked = revoked;
    created.push(made);
  }
  kvPut(
    created.flatMap(({ hash, record }) => [
      [recordKey(hash), JSON.stringify(record)],
      [idKey(record.id), hash],
    ]),
    { persistTo: stateDir },
  );
  return created;
}

/** Writes key/value pairs to the `AUTH_KV` namespace in one wrangler call. */
export function kvPut(entries, { remote = false, persistTo: stateDir = persistTo } = {}) {
  const scratch = mkdtempSync(join(tmpdir(), 'triggers-kv-'));
  try {
    const file = join(scratch, 'entries.json');
    writeFileSync(file, JSON.stringify(entries.map(([key, value]) => ({ key, value }))));
    wrangler([
      'kv',
      'bulk',
      'put',
      file,
      '--binding',
      'AUTH_KV',
      '-c',
      ingestConfig,
      ...kvTarget(remote, stateDir),
    ]);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** Reads one value of `AUTH_KV` as text, or `null`. */
export function kvGet(key, { remote = false } = {}) {
  try {
    return wrangler([
      'kv',
      'key',
      'get',
      key,
      '--text',
      '--binding',
      'AUTH_KV',
      '-c',
      ingestConfig,
      ...kvTarget(remote),
    ]);
  } catch {
    return null;
  }
}

/**
 * Applies the event store's migrations (packages/event-store/migrations, named by the consumer's
 * `migrations_dir`) to the local D1 in `persistTo`; those already applied are skipped.
 */
export function migrateLocalD1({ persistTo: stateDir = persistTo, config = consumerConfig } = {}) {
  wrangler(['d1', 'migrations', 'apply', 'DB', '--local', '--persist-to', stateDir, '-c', config]);
}

/**
 * Runs SQL statements on the local D1 in `persistTo`, all in one wrangler call (each call starts
 * a runtime: seconds), and returns the rows of each.
 */
export function queryLocalD1(statements, { persistTo: stateDir = persistTo, config = consumerConfig } = {}) {
  const args = ['d1', 'execute', 'DB', '--local', '--persist-to', stateDir, '-c', config, '--json'];
  const results = JSON.parse(wrangler([...args, '--command', statements.join(';\n')]));
  return statements.map((_, i) => results[i]?.results ?? []);
}

/**
 * Starts Workers in one `wrangler dev` process, sharing the local queues, D1 and KV in
 * `persistTo`. The first config's Worker (the ingest Worker by default) listens on `port`.
 * `args` are more wrangler flags, `options` go to `spawn` (their `env` is added to ours).
 *
 * @param {{ port: number | string; persistTo?: string; configs?: string[]; args?: string[] }
 *   & import('node:child_process').SpawnOptions} options
 */
export function spawnDev({
  port,
  persistTo: stateDir = persistTo,
  configs = [ingestConfig, consumerConfig],
  args = [],
  ...options
}) {
  const dev = [
    'dev',
    ...configs.flatMap((config) => ['-c', config]),
    '--persist-to',
    stateDir,
    '--port',
    String(port),
  ];
  return spawn(
    process.execPath,
    [wranglerBin, ...dev, '--ip', '127.0.0.1', '--show-interactive-dev-session=false', ...args],
    {
      ...options,
      env: {
        ...process.env,
        WRANGLER_SEND_METRICS: 'false',
        CLOUDFLARE_CF_FETCH_ENABLED: 'false',
        ...options.env,
      },
    },
  );
}
