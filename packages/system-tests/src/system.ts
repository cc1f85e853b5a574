import { startSystem as startLocalSystem } from '@triggers/tooling/system';

export interface LocalSystem {
  url: string;
  port: number;
  keys: { test: string; live: string; revoked: string };
  /** Structured log lines the Workers printed so far. */
  logs: Array<Record<string, unknown>>;
  /** Runs SQL on the system's D1 and returns each statement's rows. */
  query(statements: string[]): Record<string, unknown>[][];
  stop(): Promise<void>;
}

/**
 * Both Workers under `wrangler dev`, as the README starts them, with throw-away state and three
 * API keys (test, live, revoked). The per-key rate limit is lifted: these suites send thousands of
 * requests with one key and test the API's answers, not the limiter (its own tests do that).
 */
export async function startSystem(options: { vars?: Record<string, string> } = {}): Promise<LocalSystem> {
  const system = await startLocalSystem({
    ...options,
    rateLimit: 1_000_000,
    keys: [
      { mode: 'test', name: 'system test' },
      { mode: 'live', name: 'system live' },
      { mode: 'test', name: 'system revoked', revoked: true },
    ],
  });
  const [test, live, revoked] = system.keys;
  if (!test || !live || !revoked) throw new Error('seeding the API keys failed');
  return { ...system, keys: { test: test.key, live: live.key, revoked: revoked.key } };
}
