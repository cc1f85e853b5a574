// The test runtime's main module: the ingest Worker, plus the TenantStore class its TENANTS binding
// reaches. Deployed, the consumer Worker hosts that class (wrangler.toml's script_name); it does not
// run in this test runtime, so the class is hosted here instead (vitest.config.ts).
export { TenantStore } from '@triggers/event-store';
export { default } from '../src/index.ts';
