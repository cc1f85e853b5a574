/**
 * The whole pipeline on this machine, for end-to-end tests: both Workers in one
 * `wrangler dev -c ingest -c consumer` process (one runtime, the real local queues, D1 and KV),
 * in a fresh temporary state directory, on free ports, with its own API key. Nothing is shared
 * with `pnpm dev` or with another run, and nothing is left behind.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createApiKey, idKey, recordKey } from '@triggers/api-keys';
import { consumerConfig, kvPut, migrateLocalD1, queryLocalD1, spawnDev } from '@triggers/tooling';
import { parse, stringify } from 'smol-toml';

/** Seconds the test runtime waits for a batch to fill: 30 s in wrangler.toml, shortened here only. */
export const TEST_BATCH_TIMEOUT_SECONDS = { 'event-queue': 1, 'event-dlq': 0.5 } as const;

/** A structured log line of either Worker, as printed by wrangler dev. */
export type LogLine = Record<string, unknown> & { message?: string; queue?: string };

export interface System {
  baseUrl: string;
  apiKey: string;
  apiKeyId: string;
  /** Every structured log line the Workers printed so far. */
  logs: LogLine[];
  /** Everything wrangler dev printed so far. */
  output(): string;
  /** Resolves once `condition` holds of the log lines, or rejects after `timeoutMs`. */
  waitForLogs(condition: (logs: LogLine[]) => boolean, timeoutMs: number): Promise<void>;
  /** Runs SQL on this system's D1 (through `wrangler d1 execute`) and returns each statement's rows. */
  query(statements: string[]): Record<string, unknown>[][];
  stop(): Promise<void>;
}

/** A port nothing listens on right now. */
function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolvePort(address.port) : reject()));
    });
  });
}

/** The consumer's real wrangler.toml with shorter batch timeouts and absolute paths, in `dir`. */
function writeTestConsumerConfig(dir: string): string {
  const config = parse(readFileSync(consumerConfig, 'utf8')) as {
    main: string;
    queues: { consumers: { queue: keyof typeof TEST_BATCH_TIMEOUT_SECONDS; max_batch_timeout: number }[] };
    d1_databases: { migrations_dir: string }[];
  };
  const home = dirname(consumerConfig);
  config.main = resolve(home, config.main);
  for (const db of config.d1_databases) db.migrations_dir = resolve(home, db.migrations_dir);
  for (const consumer of config.queues.consumers) {
    consumer.max_batch_timeout = TEST_BATCH_TIMEOUT_SECONDS[consumer.queue];
  }
  const file = join(dir, 'consumer.wrangler.toml');
  writeFileSync(file, stringify(config));
  return file;
}

async function waitUntilUp(baseUrl: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`wrangler dev exited with ${child.exitCode}`);
    try {
      if ((await fetch(`${baseUrl}/health`)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`wrangler dev did not answer on ${baseUrl} within ${timeoutMs} ms`);
}

/** Starts the system; call `stop()` in `afterAll`. */
export async function startSystem(): Promise<System> {
  const dir = mkdtempSync(join(tmpdir(), 'triggers-e2e-'));
  const persistTo = join(dir, 'state');
  const config = writeTestConsumerConfig(dir);
  migrateLocalD1({ persistTo, config });

  const { key, hash, record } = await createApiKey({ name: 'end-to-end tests', mode: 'test' });
  kvPut(
    [
      [recordKey(hash), JSON.stringify(record)],
      [idKey(record.id), hash],
    ],
    { persistTo },
  );

  const [port, inspectorPort] = [await freePort(), await freePort()];
  const baseUrl = `http://127.0.0.1:${port}`;
  const child = spawnDev({
    port,
    persistTo,
    config,
    args: ['--inspector-port', String(inspectorPort)],
    // Its own process group, so that stop() ends wrangler and the workerd it started.
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    // A private dev registry: this runtime's queues never reach another wrangler dev's.
    env: { WRANGLER_REGISTRY_PATH: join(dir, 'registry'), NO_COLOR: '1' },
  });

  const logs: LogLine[] = [];
  const waiters = new Set<() => void>();
  let output = '';
  let partial = '';
  const onData = (chunk: Buffer) => {
    const text = chunk.toString('utf8');
    output += text;
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
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);

  const stop = async () => {
    if (child.exitCode === null && child.pid !== undefined) {
      const exited = new Promise((r) => child.once('exit', r));
      process.kill(-child.pid, 'SIGTERM');
      const timer = setTimeout(() => child.pid !== undefined && process.kill(-child.pid, 'SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    await waitUntilUp(baseUrl, child, 90_000);
  } catch (err) {
    await stop();
    throw err;
  }

  return {
    baseUrl,
    apiKey: key,
    apiKeyId: record.id,
    logs,
    output: () => output,
    waitForLogs(condition, timeoutMs) {
      return new Promise((done, reject) => {
        const check = () => {
          if (!condition(logs)) return;
          clearTimeout(timer);
          waiters.delete(check);
          done();
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`the logs did not show what was awaited within ${timeoutMs} ms`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    query: (statements) => queryLocalD1(statements, { persistTo, config }),
    stop,
  };
}
