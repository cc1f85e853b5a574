/**
 * The whole pipeline for end-to-end tests: both Workers in one `wrangler dev -c ingest -c consumer`
 * (one runtime, the real local queues, D1 and KV) in a fresh temporary state, on free ports, with
 * its own API key and batch timeouts shortened to HARNESS_BATCH_TIMEOUT_SECONDS (here only).
 */
import { HARNESS_BATCH_TIMEOUT_SECONDS, startSystem as startLocalSystem } from '@triggers/tooling/system';

/** Seconds the test runtime waits for a batch to fill: 30 s in wrangler.toml, shortened here only. */
export const TEST_BATCH_TIMEOUT_SECONDS = HARNESS_BATCH_TIMEOUT_SECONDS;

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

/** Starts the system; call `stop()` in `afterAll`. */
export async function startSystem(): Promise<System> {
  const system = await startLocalSystem({ keys: [{ mode: 'test', name: 'end-to-end tests' }] });
  const [key] = system.keys;
  if (!key) throw new Error('no API key was seeded');
  return { ...system, baseUrl: system.url, apiKey: key.key, apiKeyId: key.id };
}
