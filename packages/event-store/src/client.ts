/**
 * The one way to a tenant's data: `tenantStore(env.TENANTS, tenantId)` answers a handle whose
 * methods are the operations of tenant-ops.ts without their database argument, each one RPC to
 * the tenant's own object. Nothing else reaches a tenant's store, so a request can only ever
 * touch the store of the tenant it authenticated as.
 */
import type { OpArgs, OpResult, TenantOp, TenantOps } from './tenant-ops.ts';
import type { TenantStore as TenantStoreClass } from './tenant-store.ts';
import { type EventWrites, prepareWrites } from './write.ts';

/** A tenant's store, as its callers see it. */
export type TenantStoreHandle = {
  [K in Exclude<TenantOp, 'writeEvents'>]: (...args: OpArgs<K>) => Promise<OpResult<K>>;
} & {
  /**
   * Writes one consumer batch's share of the tenant in one transaction of its store. The events
   * are serialized here, in the caller ({@link prepareWrites}): a string per day crosses to the
   * object, where a copy of every event's object graph took a fifth of the consumer's time.
   */
  writeEvents(writes: EventWrites, now: Date): Promise<OpResult<'writeEvents'>>;
  /** The store's database size in bytes. */
  size(): Promise<number>;
  /** Erases the tenant's data whole; answers the counts it held. */
  erase(): Promise<OpResult<'storeCounts'>>;
};

/** The binding of the TenantStore class (`TENANTS` in both Workers' wrangler.toml). */
export type TenantNamespace = DurableObjectNamespace<TenantStoreClass>;

interface Stub {
  run(tenant: string, op: string, args: unknown[]): Promise<unknown>;
  size(tenant: string): Promise<number>;
  erase(tenant: string): Promise<OpResult<'storeCounts'>>;
}

/**
 * The store of `tenant` (an API key id). Takes the namespace of the class or of a subclass (the
 * consumer's, with its retention): a namespace type is not covariant in its class.
 */
export function tenantStore<T extends TenantStoreClass>(
  namespace: DurableObjectNamespace<T>,
  tenant: string,
): TenantStoreHandle {
  const stub = namespace.get(namespace.idFromName(tenant)) as unknown as Stub;
  const handle: Partial<Record<string, unknown>> = {
    writeEvents: (writes: EventWrites, now: Date) =>
      stub.run(tenant, 'writeEvents', [prepareWrites(writes), now]),
    size: () => stub.size(tenant),
    erase: () => stub.erase(tenant),
  };
  return new Proxy(handle, {
    get(target, op: string | symbol) {
      // Not a thenable (`await handle` answers the handle), and no symbol is an operation.
      if (typeof op === 'symbol' || op === 'then') return undefined;
      if (Object.hasOwn(target, op)) return target[op];
      return (...args: unknown[]) => stub.run(tenant, op, args);
    },
  }) as TenantStoreHandle;
}

export type { TenantOps };
