// @ts-check
// The local system for harnesses that drive it over real HTTP (end-to-end tests, fuzzing, fault
// suites, benchmarks): Workers under `wrangler dev`, the runtime the README's start command uses,
// each run in its own temporary state, ports and dev registry, with nothing left behind.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { stringify } from 'smol-toml';
import {
  buildConsole,
  consoleConfig,
  consumerConfig,
  DEV_VARS,
  ingestConfig,
  migrateLocalD1,
  queryLocalD1,
  seedApiKeys,
  spawnDev,
} from './local.mjs';
import { queryTenantStores, tenantExec, tenantInsertFault, tenantObjects, tenantQuery } from './tenants.mjs';
import { readWranglerConfig } from './wrangler-config.mjs';

/** @typedef {import('./local.mjs').Row} Row */
/** @typedef {import('./local.mjs').KeySpec} KeySpec */

/**
 * A structured log line of either Worker, as printed by wrangler dev.
 * @typedef {Record<string, unknown> & { level?: string, message?: string, queue?: string }} LogLine
 */

/**
 * A TCP port that was free a moment ago.
 * @returns {Promise<number>}
 */
export function freePort() {
  return new Promise((done, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      if (address === null || typeof address === 'string') return reject(new Error('no TCP port'));
      server.close(() => done(address.port));
    });
  });
}

/**
 * A copy of a wrangler.toml in `dir`, with its paths made absolute and `edit(config)` applied:
 * how harnesses shorten batch timeouts or lift rate limits without touching the real config.
 * @param {string} configPath
 * @param {string} dir
 * @param {(config: import('./wrangler-config.mjs').WranglerConfig) => void} edit
 * @returns {string} the copy's path.
 */
export function configVariant(configPath, dir, edit) {
  const config = readWranglerConfig(configPath);
  const home = dirname(configPath);
  config.main = resolve(home, config.main);
  if (config.assets?.directory) config.assets.directory = resolve(home, config.assets.directory);
  for (const db of config.d1_databases ?? []) {
    if (db.migrations_dir) db.migrations_dir = resolve(home, db.migrations_dir);
  }
  edit(config);
  const file = join(dir, `${config.name}.wrangler.toml`);
  writeFileSync(file, stringify(config));
  return file;
}

/**
 * Batch timeouts for harnesses: the real 30 s would make every test wait 30 s. The shards of
 * event-queue (`event-queue-1` …) take event-queue's ({@link harnessBatchTimeout}).
 * @type {Readonly<Record<string, number>>}
 */
export const HARNESS_BATCH_TIMEOUT_SECONDS = { 'event-queue': 1, 'event-dlq': 0.5, 'delivery-queue': 0.2 };

/**
 * The harness's batch timeout for `queue`: {@link HARNESS_BATCH_TIMEOUT_SECONDS}, a shard of
 * event-queue (`event-queue-<n>`) as event-queue.
 * @param {string} queue
 * @returns {number}
 */
export function harnessBatchTimeout(queue) {
  const timeout = HARNESS_BATCH_TIMEOUT_SECONDS[queue.replace(/^(event-queue)-\d+$/, '$1')];
  if (timeout === undefined) throw new Error(`no harness batch timeout for queue ${queue}`);
  return timeout;
}

/**
 * Workers running under one `wrangler dev`.
 * @typedef {{
 *   url: string,
 *   port: number,
 *   inspectorPort: number,
 *   pid: number,
 *   logs: LogLine[],
 *   output(): string,
 *   waitForLogs(condition: (logs: LogLine[]) => boolean, timeoutMs: number): Promise<void>,
 *   stop(): Promise<void>,
 * }} Workers
 * - `url`, `port`: where the first config's Worker answers.
 * - `inspectorPort`: wrangler's DevTools inspector (its `/json` lists one target per Worker).
 * - `logs`: every structured log line the Workers printed so far; `output()`: all they printed.
 * - `waitForLogs`: resolves once `condition(logs)` holds, rejects after `timeoutMs`.
 * - `stop()`: ends wrangler and the workerd it started.
 */

/**
 * Runs `wrangler dev` with `configs` on a free port and waits until it answers `readyPath`.
 * Collects the structured log lines the Workers print. `stop()` ends the whole process group.
 * @param {{
 *   configs: string[],
 *   persistTo: string,
 *   vars?: Record<string, string>,
 *   readyPath?: string,
 *   timeoutMs?: number,
 *   env?: NodeJS.ProcessEnv,
 *   args?: string[],
 *   whileStarting?: () => unknown,
 *   ports?: () => Promise<[number, number]>,
 * }} options `args` go to wrangler dev as they are (`--test-scheduled`); `whileStarting` runs
 *   once wrangler dev is spawned, while it boots (seconds that other wrangler commands can use),
 *   and is awaited before the Workers are; `ports` picks the Worker's port and the inspector's,
 *   at each try (default: two {@link freePort}s).
 * @returns {Promise<Workers>}
 */
export async function startWorkers(options) {
  // A port free a moment ago can be taken before wrangler binds it (by another process's own
  // ephemeral port): wrangler then exits at once, and a new pair of ports is tried, twice more.
  // What `whileStarting` did stands: it runs with the first try only.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(attempt === 1 ? options : { ...options, whileStarting: undefined });
    } catch (err) {
      if (attempt >= 3 || !(err instanceof PortTaken)) throw err;
    }
  }
}

/** wrangler dev exited because its port was taken meanwhile. */
class PortTaken extends Error {}

/**
 * One try of {@link startWorkers}.
 * @param {Parameters<typeof startWorkers>[0]} options
 * @returns {Promise<Workers>}
 */
async function startOnce({
  configs,
  persistTo,
  vars = {},
  readyPath = '/health',
  timeoutMs = 90_000,
  env = {},
  args: extra = [],
  whileStarting = () => {},
  ports = async () => [await freePort(), await freePort()],
}) {
  const [port, inspectorPort] = await ports();
  const args = ['--inspector-port', String(inspectorPort), ...extra];
  for (const [name, value] of Object.entries(vars)) args.push('--var', `${name}:${value}`);
  const child = spawnDev({
    port,
    persistTo,
    configs,
    args,
    // Its own process group, so that stop() ends wrangler and the workerd it started.
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { NO_COLOR: '1', ...env },
  });

  const { pid, stdout, stderr } = child;
  if (pid === undefined || stdout === null || stderr === null) throw new Error('wrangler dev did not start');
  /** @type {LogLine[]} */
  const logs = [];
  /** @type {Set<() => void>} */
  const waiters = new Set();
  let output = '';
  let partial = '';
  /** @param {Buffer} chunk */
  const onData = (chunk) => {
    const text = chunk.toString('utf8');
    output = (output + text).slice(-2_000_000);
    const lines = (partial + text).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      const json = /\{"level".*\}/.exec(line)?.[0];
      if (json === undefined) continue;
      try {
        logs.push(JSON.parse(json));
      } catch {
        continue;
      }
      for (const wake of waiters) wake();
    }
  };
  stdout.on('data', onData);
  stderr.on('data', onData);

  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((done) => child.once('exit', done));
    /** @param {NodeJS.Signals} signal */
    const kill = (signal) => {
      try {
        process.kill(-pid, signal);
      } catch {}
    };
    kill('SIGTERM');
    const timer = setTimeout(() => kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  };

  try {
    await whileStarting();
  } catch (err) {
    await stop();
    throw err;
  }
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) {
      const message = `wrangler dev exited (${child.exitCode}):\n${output}`;
      throw /Address already in use/.test(output) ? new PortTaken(message) : new Error(message);
    }
    try {
      // Bounded: whatever else holds the port (see startWorkers) may never answer.
      const response = await fetch(`${url}${readyPath}`, { signal: AbortSignal.timeout(5_000) });
      await response.arrayBuffer();
      break;
    } catch {}
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`wrangler dev did not answer on ${url} within ${timeoutMs} ms:\n${output}`);
    }
    await new Promise((done) => setTimeout(done, 200));
  }

  return {
    url,
    port,
    inspectorPort,
    pid,
    logs,
    output: () => output,
    waitForLogs(condition, waitMs) {
      return new Promise((done, reject) => {
        const check = () => {
          if (!condition(logs)) return;
          clearTimeout(timer);
          waiters.delete(check);
          done();
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`the logs did not show what was awaited within ${waitMs} ms`));
        }, waitMs);
        waiters.add(check);
        check();
      });
    },
    stop,
  };
}

/**
 * The keys every system gets unless told otherwise: what the suites need to test authentication.
 * @satisfies {Record<string, KeySpec>}
 */
export const DEFAULT_KEYS = {
  test: { mode: 'test', name: 'harness test' },
  live: { mode: 'live', name: 'harness live' },
  revoked: { mode: 'test', name: 'harness revoked', revoked: true },
};

/** @typedef {keyof typeof DEFAULT_KEYS} DefaultKeyName */

/**
 * Registers the API keys `specs` in the local state in `persistTo` (one wrangler call, none for no
 * keys), a running system's too: its Workers find a key they never looked up at once.
 * @template {string} K
 * @param {Record<K, KeySpec>} specs
 * @param {string} persistTo
 * @returns {Promise<{ keys: Record<K, string>, keyIds: Record<K, string> }>} each key and its id, by name.
 */
async function seedNamedKeys(specs, persistTo) {
  const names = /** @type {K[]} */ (Object.keys(specs));
  const seeded =
    names.length === 0
      ? []
      : await seedApiKeys(
          names.map((name) => specs[name]),
          { persistTo },
        );
  /** @param {(made: { key: string, record: { id: string } }) => string} pick */
  const byName = (pick) =>
    /** @type {Record<K, string>} */ (Object.fromEntries(seeded.map((made, i) => [names[i], pick(made)])));
  return { keys: byName(({ key }) => key), keyIds: byName(({ record }) => record.id) };
}

/**
 * The whole pipeline, running (see {@link startSystem}), with API keys named `K`.
 * @template {string} [K=DefaultKeyName]
 * @typedef {Workers & {
 *   persistTo: string,
 *   keys: Record<K, string>,
 *   keyIds: Record<K, string>,
 *   operatorToken: string,
 *   query(statements: string[]): Row[][],
 *   stored(statements: string[]): Row[][],
 *   tenantObjects(): Map<string, string>,
 *   tenantQuery(tenant: string, sql: string, params?: Array<string | number | null>): Row[],
 *   tenantExec(tenant: string, sql: string): void,
 *   tenantInsertFault(tenant: string, name: string, fault: { when?: string, message: string, on?: string }): () => void,
 * }} System
 * - `persistTo`: the local state (D1, KV, queues) of this system.
 * - `keys`: each seeded API key by name; `keyIds`: its id (the tenant its events are filed under).
 * - `operatorToken`: the ingest Worker's OPERATOR_TOKEN (GET /health's operator view, /operator/*).
 * - `query`: runs SQL on this system's D1 (one wrangler call) and returns each statement's rows:
 *   dead letters, and the old shared store's tables (read only by the migration).
 * - `stored`: runs SQL over every tenant store's data at once, as one store (tenants.mjs); where
 *   events, subscriptions and deliveries are.
 * - `tenantObjects()`: tenant id to its object's SQLite file; `tenantQuery`: SQL on one tenant's;
 *   `tenantExec`: SQL that changes one tenant's store in place; `tenantInsertFault`: makes its
 *   store refuse new events (a fault suite's failing trigger), answering the function that ends it.
 * - `stop()` also removes the temporary state.
 */

/**
 * The whole pipeline: both Workers in one `wrangler dev` (the real local queues, D1 and KV) in a
 * fresh temporary state with migrations applied and API keys seeded. Call `stop()` when done.
 *
 * @example
 *   const system = await startSystem();
 *   await fetch(`${system.url}/events`, { headers: { authorization: `Bearer ${system.keys.test}` } });
 *   await system.stop();
 *
 * @template {string} [K=DefaultKeyName]
 * @param {{
 *   console?: boolean,
 *   consumer?: boolean,
 *   keys?: Record<K, KeySpec>,
 *   rateLimit?: number,
 *   vars?: Record<string, string>,
 * }} [options] `console: true` builds the console and runs its Worker first, so that `url` is the
 *   console's (it forwards every other path to the ingest Worker, as under `pnpm dev`);
 *   `consumer: false` runs the ingest Worker alone; `keys` replaces
 *   {@link DEFAULT_KEYS}; `rateLimit` replaces the per-key request limit (load harnesses would
 *   otherwise measure the limiter); `vars` are set in both Workers' configs (wrangler dev's
 *   `--var` reaches only the first) over {@link DEV_VARS}: the system runs as development, as
 *   under `pnpm dev`; batch timeouts are {@link HARNESS_BATCH_TIMEOUT_SECONDS}.
 * @returns {Promise<System<K>>}
 */
export async function startSystem({
  console: withConsole = false,
  consumer = true,
  keys,
  rateLimit,
  vars = {},
} = {}) {
  const specs = /** @type {Record<K, KeySpec>} */ (keys ?? DEFAULT_KEYS);
  const dir = mkdtempSync(join(tmpdir(), 'triggers-system-'));
  const persistTo = join(dir, 'state');
  try {
    const ingest = configVariant(ingestConfig, dir, (config) => {
      config.vars = { ...config.vars, ...DEV_VARS, ...vars };
      if (rateLimit === undefined) return;
      for (const limiter of config.ratelimits ?? []) limiter.simple.limit = rateLimit;
      config.vars.RATE_LIMIT_REQUESTS = rateLimit;
    });
    const configs = [ingest];
    if (consumer) {
      const variant = configVariant(consumerConfig, dir, (config) => {
        config.vars = { ...config.vars, ...DEV_VARS, ...vars };
        for (const entry of config.queues?.consumers ?? [])
          entry.max_batch_timeout = harnessBatchTimeout(entry.queue);
      });
      configs.push(variant);
    }
    // The operator token of this system (the ingest Worker's OPERATOR_TOKEN secret, for
    // GET /health's operator view and the /operator routes): wrangler dev reads the `.dev.vars`
    // beside each config, as `pnpm dev` gives it apps/ingest/.dev.vars.
    const operatorToken = `op_system_${randomBytes(24).toString('hex')}`;
    writeFileSync(join(dir, '.dev.vars'), `OPERATOR_TOKEN=${operatorToken}\n`);
    // Both Workers bind the event store (the same D1): migrate it whichever of them runs.
    const storeConfig = configs[configs.length - 1] ?? ingest;
    if (withConsole) {
      buildConsole();
      configs.unshift(configVariant(consoleConfig, dir, () => {}));
    }
    /** @type {{ keys: Record<K, string>, keyIds: Record<K, string> } | undefined} */
    let seeded;
    const workers = await startWorkers({
      configs,
      persistTo,
      // A private dev registry: this runtime's queues never reach another wrangler dev's.
      env: { WRANGLER_REGISTRY_PATH: join(dir, 'registry') },
      // While the runtime boots (other processes, so this overlaps on two cores): the Workers
      // need the tables and keys only once they answer.
      whileStarting: async () => {
        migrateLocalD1({ persistTo, config: storeConfig });
        seeded = await seedNamedKeys(specs, persistTo);
      },
    });
    if (seeded === undefined) throw new Error('the keys were not seeded');
    return {
      ...workers,
      persistTo,
      operatorToken,
      ...seeded,
      query: (statements) => queryLocalD1(statements, { persistTo, config: storeConfig }),
      stored: (statements) => queryTenantStores(statements, { persistTo }),
      tenantObjects: () => tenantObjects({ persistTo }),
      tenantQuery: (tenant, sql, params) => tenantQuery(tenant, sql, params, { persistTo }),
      tenantExec: (tenant, sql) => tenantExec(tenant, sql, { persistTo }),
      tenantInsertFault: (tenant, name, fault) => tenantInsertFault(tenant, name, fault, { persistTo }),
      async stop() {
        await workers.stop();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

/**
 * The systems this process shares, by the options they were started with.
 * @type {Map<string, Promise<System<never>>>}
 */
const shared = new Map();
/** Those started, for an exit handler (which cannot wait for a promise). @type {Set<System<never>>} */
const running = new Set();

/**
 * The whole pipeline as {@link startSystem} starts it, shared by the suites of this process that
 * need no fresh state: the first call with a set of options starts it, later calls with the same
 * options reuse it (a `wrangler dev` start, migrations and seeding cost tens of seconds on two
 * cores). Each call gets API keys of its own (`keys`, seeded into the running system), so a suite
 * sees only its own events, subscriptions and counts; `stop()` leaves the system running for the
 * next suite. The system ends with this process (SIGTERM or SIGINT, as vitest ends its workers,
 * or exit).
 *
 * Sharing needs the suites' files to run in one process with their imports shared (vitest:
 * `isolate: false`, `fileParallelism: false`); elsewhere each file still gets a correct system,
 * its own. Suites that change the system itself (FAULTS, an outage, a bad config) start their own.
 *
 * @example
 *   const system = await sharedSystem({ keys: { test: { mode: 'test', name: 'inbox e2e' } } });
 *
 * @template {string} [K=DefaultKeyName]
 * @param {Omit<NonNullable<Parameters<typeof startSystem>[0]>, 'keys'> & { keys?: Record<K, KeySpec> }} [options]
 *   as {@link startSystem}'s.
 * @returns {Promise<System<K>>}
 */
export async function sharedSystem({ keys, ...options } = {}) {
  const id = JSON.stringify(options);
  let starting = shared.get(id);
  if (starting === undefined) {
    if (shared.size === 0) endSharedSystemsWithProcess();
    starting = startSystem({ ...options, keys: {} });
    shared.set(id, starting);
    starting.then((system) => running.add(system)).catch(() => shared.delete(id));
  }
  const system = await starting;
  const specs = /** @type {Record<K, KeySpec>} */ (keys ?? DEFAULT_KEYS);
  return { ...system, ...(await seedNamedKeys(specs, system.persistTo)), stop: async () => {} };
}

/** Stops the shared systems when this process ends. */
function endSharedSystemsWithProcess() {
  for (const [signal, code] of /** @type {const} */ ([
    ['SIGTERM', 143],
    ['SIGINT', 130],
  ])) {
    process.once(signal, () => {
      Promise.allSettled([...running].map((system) => system.stop())).finally(() => process.exit(code));
    });
  }
  // A plain exit cannot wait: end each process group at once and remove its state.
  process.once('exit', () => {
    for (const system of running) {
      try {
        process.kill(-system.pid, 'SIGKILL');
      } catch {}
      rmSync(dirname(system.persistTo), { recursive: true, force: true });
    }
  });
}
