// Types that exist only in the test runtime (see vitest.config.ts).
declare namespace Cloudflare {
  interface Env {
    QUEUE_SPY: KVNamespace;
  }
  // Types `exports.default` from `cloudflare:workers` as the Worker's own default export.
  interface GlobalProps {
    mainModule: typeof import('../src/index.ts');
  }
}
