// Bindings that exist only in the test runtime (see vitest.config.ts).
declare namespace Cloudflare {
  interface Env {
    QUEUE_SPY: KVNamespace;
    /**
     * The tenant stores, hosted here by test/worker.ts (vitest.config.ts), typed with their class
     * as src/env.ts types them (the generated type leaves a binding to another script untyped).
     */
    TENANTS: import('@triggers/event-store').TenantNamespace;
    /** The secret wrangler.toml requires, made up per run (vitest.config.ts). */
    OPERATOR_TOKEN: string;
    /** Each environment of wrangler.toml (`top level`, `staging`, …) with its [[ratelimits]]. */
    WRANGLER_RATELIMITS: Record<string, { name: string; simple: { limit: number; period: number } }[]>;
  }
}
