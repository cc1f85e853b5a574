import type { System } from '@triggers/tooling/system';

/**
 * Makes the store of the tenant of `key` (its id `tenant`) exist before anything is written to it,
 * so that a fault suite can set a failing trigger in it first (`system.tenantExec`): `GET /inbox`
 * calls the tenant's store, which claims the object and applies its schema.
 */
export async function openTenantStore(system: System<string>, key: string, tenant: string): Promise<void> {
  const response = await fetch(`${system.url}/inbox`, { headers: { authorization: `Bearer ${key}` } });
  await response.arrayBuffer();
  if (!system.tenantObjects().has(tenant)) {
    throw new Error(`GET /inbox answered ${response.status} and created no store object for ${tenant}`);
  }
}
