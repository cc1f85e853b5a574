// Bindings that exist only in the test runtime (see vitest.config.ts).
declare namespace Cloudflare {
  interface Env {
    QUEUE_SPY: KVNamespace;
    /** Each environment of wrangler.toml (`top level`, `staging`, …) with its [[ratelimits]]. */
    WRANGLER_RATELIMITS: Record<string, { name: string; simple: { limit: number; period: number } }[]>;
  }
}
