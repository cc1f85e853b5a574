// @ts-check
// Shared by the local commands: where the repo is, where local state lives, how to call wrangler.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** Local D1, KV and queue state of `pnpm dev`, shared by both Workers. */
export const persistTo = join(root, '.wrangler', 'state');

export const ingestConfig = join(root, 'apps', 'ingest', 'wrangler.toml');
export const consumerConfig = join(root, 'apps', 'consumer', 'wrangler.toml');
export const consoleConfig = join(root, 'apps', 'console', 'wrangler.toml');

/**
 * Each app's local-only values: `wrangler dev` reads the `.dev.vars` beside a config, for each
 * Worker of a multi-config run (where `--var` reaches only the first). Git ignores them
 * (.gitignore): the ingest Worker's holds its local operator token.
 */
export const ingestDevVars = join(root, 'apps', 'ingest', '.dev.vars');
export const consumerDevVars = join(root, 'apps', 'consumer', '.dev.vars');

/**
 * What makes a Worker under `wrangler dev` a local development one: the top level of each
 * wrangler.toml is production (what `wrangler deploy` without `--env` deploys), so `pnpm dev`
 * writes these to the apps' `.dev.vars` ({@link ensureDevVars}) and the system harness sets them
 * in its copies of the configs. Development accepts http://127.0.0.1 webhook URLs and honours
 * FAULTS.
 */
export const DEV_VARS = Object.freeze({ ENVIRONMENT: 'development' });

/**
 * The value `text` (a .dev.vars file) gives `name`, quoted or not, or undefined.
 * @param {string} text
 * @param {string} name
 */
const devVarIn = (text, name) => new RegExp(`^${name}\\s*=\\s*"?([^"\\r\\n]*?)"?\\s*$`, 'm').exec(text)?.[1];

/**
 * The value `file` (a .dev.vars file) gives `name`, or undefined when it has none or is missing.
 * @param {string} file
 * @param {string} name
 */
export const readDevVar = (file, name) =>
  existsSync(file) ? devVarIn(readFileSync(file, 'utf8'), name) : undefined;

/**
 * The value of `name` in the dotenv file `file` (a `.dev.vars`), or, where the file does not set
 * it, `make()` added as a new line (after a `# why` comment), the file created when absent. Never
 * touches any other line: a value set there by hand wins.
 * @param {string} file
 * @param {string} name
 * @param {() => string} make
 * @param {string} why
 * @returns {{ value: string, created: boolean }}
 */
export function ensureDevVar(file, name, make, why) {
  const text = existsSync(file) ? readFileSync(file, 'utf8') : '';
  const found = devVarIn(text, name);
  if (found) return { value: found, created: false };
  const value = make();
  const line = `# ${why}\n${name}=${value}\n`;
  appendFileSync(file, text === '' || text.endsWith('\n') ? line : `\n${line}`);
  return { value, created: true };
}

/**
 * Writes {@link DEV_VARS} to the ingest and consumer Workers' `.dev.vars` (those they do not set).
 * @param {string[]} [files]
 * @returns {Record<string, string>[]} the values in effect, per file.
 */
export function ensureDevVars(files = [ingestDevVars, consumerDevVars]) {
  return files.map((file) =>
    Object.fromEntries(
      Object.entries(DEV_VARS).map(([name, value]) => [
        name,
        ensureDevVar(file, name, () => value, "Local development (wrangler.toml's top level is production).")
          .value,
      ]),
    ),
  );
}

/**
 * The local operator token (the ingest Worker's `OPERATOR_TOKEN` secret, which unlocks the store's
 * size in `GET /health`): the one in `file` (apps/ingest/.dev.vars), or a new random one written
 * there.
 * @param {string} [file]
 * @returns {{ token: string, created: boolean }}
 */
export function ensureOperatorToken(file = ingestDevVars) {
  const { value, created } = ensureDevVar(
    file,
    'OPERATOR_TOKEN',
    () => `op_local_${randomBytes(24).toString('hex')}`,
    'GET /health with "Authorization: Bearer <this>" adds the store\'s size (docs/operations.md#health).',
  );
  return { token: value, created };
}

/** Builds the console's browser app into apps/console/dist, the files its Worker serves. */
export function buildConsole() {
  const result = spawnSync(process.execPath, [join(root, 'apps', 'console', 'scripts', 'build.mjs')], {
    cwd: root,
    encoding: 'utf8',
  });
  if (result.error) throw result.error;
  if (result.status !== 0) throw new Error(`the console build failed:\n${result.stdout}${result.stderr}`);
  return result.stdout;
}

/** `node <this> …` runs the workspace's pinned wrangler, whatever is on PATH. */
export const wranglerBin = join(
  dirname(createRequire(import.meta.url).resolve('wrangler/package.json')),
  'bin',
  'wrangler.js',
);

/**
 * Runs wrangler to completion and returns what it printed; throws with its output when it fails.
 * @param {string[]} args
 * @param {{ quiet?: boolean }} [options] `quiet: false` lets its output through instead.
 * @returns {string}
 */
export function wrangler(args, { quiet = true } = {}) {
  const result = spawnSync(process.execPath, [wranglerBin, ...args], {
    cwd: root,
    encoding: 'utf8',
    stdio: quiet ? 'pipe' : 'inherit',
    // Node's default (1 MB) fails with ENOBUFS on a `d1 execute --json` of 10,000 rows (the fault
    // suite's long mode reads back every event it sent).
    maxBuffer: 512 * 1024 * 1024,
    env: { ...process.env, WRANGLER_SEND_METRICS: 'false' },
  });
  if (result.error) throw result.error;
  if (result.status !== 0) {
    throw new Error(`wrangler ${args.join(' ')} failed:\n${result.stdout ?? ''}${result.stderr ?? ''}`);
  }
  return result.stdout ?? '';
}

/**
 * Which `AUTH_KV` the key commands use: the Cloudflare account's (`remote`), or the local state in
 * `persistTo` (the one `pnpm dev` serves, by default).
 * @typedef {{ remote?: boolean, persistTo?: string }} KvTarget
 */

/** @param {KvTarget} target */
function kvTargetArgs({ remote = false, persistTo: stateDir = persistTo }) {
  const where = remote ? ['--remote'] : ['--local', '--persist-to', stateDir];
  return ['--binding', 'AUTH_KV', '-c', ingestConfig, ...where];
}

/**
 * What to register, as `pnpm key:create` would; `key` and `id` are made up when absent.
 * @typedef {{ key?: string, mode?: 'test' | 'live', name?: string, id?: string, revoked?: boolean }} KeySpec
 */

/**
 * Registers API keys in the local `AUTH_KV` state in `persistTo` in one wrangler call, as
 * `pnpm key:create` would.
 * @param {KeySpec[]} specs
 * @param {{ persistTo?: string }} [options]
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

/**
 * Writes key/value pairs to the `AUTH_KV` namespace in one wrangler call.
 * @param {Array<[key: string, value: string]>} entries
 * @param {KvTarget} [target]
 */
export function kvPut(entries, target = {}) {
  const scratch = mkdtempSync(join(tmpdir(), 'triggers-kv-'));
  try {
    const file = join(scratch, 'entries.json');
    writeFileSync(file, JSON.stringify(entries.map(([key, value]) => ({ key, value }))));
    wrangler(['kv', 'bulk', 'put', file, ...kvTargetArgs(target)]);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** What `wrangler kv key get --local` prints, with exit code 0, for a key that is not there. */
const LOCAL_VALUE_NOT_FOUND = 'Value not found\n';

/**
 * Reads one value of `AUTH_KV` as text, or `null` when the key is not there. Any other failure
 * (no such state, wrangler errors) throws with wrangler's output.
 * @param {string} key
 * @param {KvTarget} [target]
 * @returns {string | null}
 */
export function kvGet(key, target = {}) {
  let value;
  try {
    value = wrangler(['kv', 'key', 'get', key, '--text', ...kvTargetArgs(target)]);
  } catch (err) {
    // The account's API answers an unknown key with 404 (code 10009, "key not found").
    if (target.remote && err instanceof Error && /key not found|10009/i.test(err.message)) return null;
    throw err;
  }
  return !target.remote && value === LOCAL_VALUE_NOT_FOUND ? null : value;
}

/**
 * Applies the event store's migrations (packages/event-store/migrations, named by the consumer's
 * `migrations_dir`) to the local D1 in `persistTo`; those already applied are skipped.
 * @param {{ persistTo?: string, config?: string }} [options]
 */
export function migrateLocalD1({ persistTo: stateDir = persistTo, config = consumerConfig } = {}) {
  wrangler(['d1', 'migrations', 'apply', 'DB', '--local', '--persist-to', stateDir, '-c', config]);
}

/** @typedef {Record<string, unknown>} Row A row of a D1 query, column name to value. */

/**
 * Runs SQL statements on the local D1 in `persistTo`, all in one wrangler call (each call starts
 * a runtime: seconds), and returns the rows of each.
 * @param {string[]} statements
 * @param {{ persistTo?: string, config?: string }} [options]
 * @returns {Row[][]}
 */
export function queryLocalD1(statements, { persistTo: stateDir = persistTo, config = consumerConfig } = {}) {
  const args = ['d1', 'execute', 'DB', '--local', '--persist-to', stateDir, '-c', config, '--json'];
  /** @type {Array<{ results?: Row[] }>} */
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
