// The bindings apply-migrations.ts needs of a test runtime: its D1 and the migrations for it.
declare namespace Cloudflare {
  interface Env {
    DB: D1Database;
    TEST_MIGRATIONS: import('cloudflare:test').D1Migration[];
  }
}
