// The test runtime's main module: hosts the TenantStore class for the tests that call a tenant's
// store object (the consumer Worker hosts it in production).
export { TenantStore } from '../src/tenant-store.ts';
export default { fetch: () => new Response(null, { status: 404 }) };
