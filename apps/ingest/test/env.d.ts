// Bindings that exist only in the test runtime (see vitest.config.ts).
declare namespace Cloudflare {
  interface Env {
    QUEUE_SPY: KVNamespace;
  }
}
