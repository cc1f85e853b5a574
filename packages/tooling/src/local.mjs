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

/** Where `--remote` was given, the Cloudflare account's KV; otherwise the local one in `stateDir`. */
function kvTarget(remote, stateDir = persistTo) {
  return remote ? ['--remote'] : ['--local', '--persist-to', stateDir];
}

/**
 * Writes key/value pairs to the `AUTH_KV` namespace in one wrangler call; locally, into
 * `pnpm dev`'s state unless `persistTo` names another (as the end-to-end tests do).
 */
export function kvPut(entries, { remote = false, persistTo: stateDir = persistTo } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'triggers-kv-'));
  try {
    const file = join(dir, 'entries.json');
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
    rmSync(dir, { recursive: true, force: true });
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
 * Starts both Workers in one `wrangler dev` process, sharing the local queues, D1 and KV in
 * `persistTo`. The ingest Worker comes first: it is the one listening on `port`. `config` may
 * name a variant of the consumer's wrangler.toml (the end-to-end tests shorten its timeouts);
 * `args` are more wrangler flags, `options` go to `spawn` (their `env` is added to ours).
 *
 * @param {{ port: number | string; persistTo?: string; config?: string; args?: string[] }
 *   & import('node:child_process').SpawnOptions} options
 */
export function spawnDev({
  port,
  persistTo: stateDir = persistTo,
  config = consumerConfig,
  args = [],
  ...options
}) {
  const dev = ['dev', '-c', ingestConfig, '-c', config, '--persist-to', stateDir, '--port', String(port)];
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
