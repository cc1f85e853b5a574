// Bindings that exist only in the test runtime (see vitest.config.ts).
declare namespace Cloudflare {
  interface Env {
    QUEUE_SPY: KVNamespace;
    /** The secret wrangler.toml requires, made up per run (vitest.config.ts). */
    OPERATOR_TOKEN: string;
    /** Each environment of wrangler.toml (`top level`, `staging`, …) with its [[ratelimits]]. */
    WRANGLER_RATELIMITS: Record<string, { name: string; simple: { limit: number; period: number } }[]>;
  }
}
