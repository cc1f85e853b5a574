import { TenantStore as StoreObject } from '@triggers/event-store';
import type { ConsumerEnv } from './env.ts';

/**
 * The tenant store class this Worker hosts (wrangler.toml `TENANTS`): event-store's TenantStore,
 * with this Worker's environment.
 */
export class TenantStore extends StoreObject<ConsumerEnv> {}
