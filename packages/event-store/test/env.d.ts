// Bindings of the test runtime (vitest.config.ts): this package has no Worker of its own.
declare namespace Cloudflare {
  interface Env {
    DB: D1Database;
    TENANTS: import('../src/client.ts').TenantNamespace;
  }
}
