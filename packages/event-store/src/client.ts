/**
 * The one way to a tenant's data: `tenantStore(env.TENANTS, tenantId)` answers a handle whose
 * methods are the operations of tenant-ops.ts without their database argument, each run in the
 * tenant's own store objects. Nothing else reaches a tenant's store, so a request can only ever
 * touch the stores of the tenant it authenticated as.
 *
 * A tenant's stores are its eras (eras.ts): the head, named by the tenant, and one object per era
 * opened when the newest grew past the split size. The handle routes each operation: a tenant
 * with the head alone (nearly all of them) has every call go there, as one RPC; past it, writes go
 * by the time each event was received, reads by id probe every era, the inbox pages through the
 * eras in order, and counts add up.
 */
import { type AttemptMessage, MAX_INBOX_PAGE_BYTES, type QueuedEvent } from '@triggers/event-schema';
import { addCounts, pageAcross, storedBytes } from './across-eras.ts';
import { claimEras, type Era, type EraList, eraAt, eraName, eras, listCovers } from './eras.ts';
import type { EventPage, EventQuery } from './list.ts';
import type { EventKey, StoredEvent } from './read.ts';
import type { OpArgs, OpResult, TenantOp, TenantOps, WrittenEvents } from './tenant-ops.ts';
import type { TenantStore as TenantStoreClass } from './tenant-store.ts';
import { type EventAttempt, type EventWrites, type PreparedWrites, prepareWrites } from './write.ts';

/** Operations, each one RPC to one store. */
type Ops = {
  [K in Exclude<TenantOp, 'writeEvents'>]: (...args: OpArgs<K>) => Promise<OpResult<K>>;
};

/** A tenant's store, as its callers see it. */
export type TenantStoreHandle = Ops & {
  /**
   * Writes one consumer batch's share of the tenant, one transaction per era it touches. The
   * events are serialized here, in the caller ({@link prepareWrites}): a string per day crosses
   * to the object, where a copy of every event's object graph took a fifth of the consumer's time.
   */
  writeEvents(writes: EventWrites, now: Date): Promise<OpResult<'writeEvents'>>;
  /** The database size in bytes of the store receiving events now. */
  size(): Promise<number>;
  /** Erases the tenant's data whole, every era; answers the counts it held. */
  erase(): Promise<OpResult<'storeCounts'>>;
  /**
   * The store of one era, by its start (`AttemptMessage.era`; null or absent: the head): where a
   * delivery is, for the dispatcher's calls about it.
   */
  era(start: string | null | undefined): TenantStoreHandle;
  /** The tenant's eras as its head holds them now. */
  eraList(): Promise<EraList>;
  /**
   * Opens an era (eras.ts) starting at `start`, by default the earliest start no cached list
   * routes wrong; the consumer's writes do it past the split size. Answers the list.
   */
  openEra(start?: string): Promise<EraList>;
};

/** The binding of the TenantStore class (`TENANTS` in both Workers' wrangler.toml). */
export type TenantNamespace = DurableObjectNamespace<TenantStoreClass>;

interface Stub {
  run(tenant: string, op: string, args: unknown[]): Promise<unknown>;
  write(tenant: string, prepared: PreparedWrites, now: Date): Promise<WrittenEvents & { bytes: number }>;
  size(tenant: string): Promise<number>;
  erase(tenant: string): Promise<OpResult<'storeCounts'>>;
  eraList(tenant: string): Promise<EraList>;
  openEra(tenant: string, start?: string): Promise<EraList>;
}

/** How a handle is made. */
export interface TenantStoreOptions {
  /**
   * A write that leaves the newest era at this many bytes or more opens the next era. Absent:
   * never (the ingest Worker only reads; the consumer passes `STORE_SPLIT_BYTES`).
   */
  splitBytes?: number;
}

/**
 * Each tenant's era list as its head last answered it, in this isolate: exact until
 * `asOf + ERA_LEAD_MS` (eras.ts), so asked again only then, or when an era opens here.
 */
const lists = new Map<string, EraList>();

/** The era list of `tenant` to route the instant `at` (ms) by: cached while it covers it. */
async function eraListFor(head: Stub, tenant: string, at: number): Promise<EraList> {
  const cached = lists.get(tenant);
  if (cached !== undefined && listCovers(cached, at)) return cached;
  const list = await head.eraList(tenant);
  lists.set(tenant, list);
  return list;
}

/**
 * The store of `tenant` (an API key id). Takes the namespace of the class or of a subclass (the
 * consumer's, with its retention): a namespace type is not covariant in its class.
 */
export function tenantStore<T extends TenantStoreClass>(
  namespace: DurableObjectNamespace<T>,
  tenant: string,
  options: TenantStoreOptions = {},
): TenantStoreHandle {
  const stubOf = (name: string) => namespace.get(namespace.idFromName(name)) as unknown as Stub;
  const head = stubOf(tenant);
  /** Every era of the tenant, oldest first, by a list exact for `at` (ms; default now). */
  const all = async (at = Date.now()) =>
    eras(tenant, await eraListFor(head, tenant, Math.max(at, Date.now())));
  /**
   * Every era as the head holds them now, not as cached: for the operator's counts and erase,
   * which must not miss an era another isolate opened within the cache's two hours.
   */
  const current = async () => {
    const list = await head.eraList(tenant);
    lists.set(tenant, list);
    return eras(tenant, list);
  };
  const run = <K extends TenantOp>(era: Era, op: K, args: unknown[]) =>
    stubOf(era.name).run(tenant, op, args) as Promise<OpResult<K>>;
  const onHead = (op: string, args: unknown[]) => head.run(tenant, op, args);
  /** Tags the delivery messages of an era with its start, for the dispatcher's calls. */
  const tagged = ({ start }: Era, messages: AttemptMessage[]): AttemptMessage[] =>
    start === null ? messages : messages.map((m) => ({ ...m, era: start }));

  /** The era holding `eventId`, probing them all at once; null when none does. */
  async function eraOfEvent(key: EventKey, list: Era[]): Promise<{ era: Era; event: StoredEvent } | null> {
    const found = await Promise.all(list.map((era) => run(era, 'getEvent', [key])));
    for (let i = list.length - 1; i >= 0; i--) {
      const event = found[i];
      if (event) return { era: list[i] as Era, event };
    }
    return null;
  }

  /** Runs a by-id operation in the era holding the event (the head when none does). */
  async function byEvent<K extends TenantOp>(op: K, key: EventKey, args: unknown[]): Promise<OpResult<K>> {
    const list = await all();
    if (list.length === 1) return onHead(op, args) as Promise<OpResult<K>>;
    const found = await eraOfEvent(key, list);
    return run(found?.era ?? (list[0] as Era), op, args);
  }

  /** The eras a query of `[from, to)` (ISO; open when absent) can find events in. */
  const within = (list: Era[], from?: string, to?: string) =>
    list.filter(
      (era) =>
        (from === undefined || era.to > Date.parse(from)) && (to === undefined || era.from < Date.parse(to)),
    );

  const routed: Partial<Record<string, (...args: never[]) => Promise<unknown>>> = {
    async getEvent(key: EventKey) {
      const list = await all();
      if (list.length === 1) return onHead('getEvent', [key]);
      return (await eraOfEvent(key, list))?.event ?? null;
    },
    ackEvent: (key: EventKey, now: Date) => byEvent('ackEvent', key, [key, now]),
    replayEvent: (key: EventKey, now: Date) => byEvent('replayEvent', key, [key, now]),
    listDeliveries: (key: EventKey) => byEvent('listDeliveries', key, [key]),
    async restartDelivery(key: EventKey & { deliveryId: string }, now: Date) {
      const list = await all();
      if (list.length === 1) return onHead('restartDelivery', [key, now]);
      const era = (await eraOfEvent(key, list))?.era ?? (list[0] as Era);
      const message = await run(era, 'restartDelivery', [key, now]);
      return message === null ? null : tagged(era, [message])[0];
    },
    async listEvents(query: EventQuery): Promise<EventPage> {
      const list = await all();
      if (list.length === 1) return onHead('listEvents', [query]) as Promise<EventPage>;
      return pageAcross(query, within(list, query.from, query.to), (era, q) => run(era, 'listEvents', [q]));
    },
    async eventStats(apiKeyId: string, now: Date) {
      const list = await all();
      if (list.length === 1) return onHead('eventStats', [apiKeyId, now]);
      const dayAgo = new Date(now.getTime() - 25 * 3_600_000).toISOString();
      const counts = await Promise.all(
        within(list, dayAgo).map((era) => run(era, 'eventStats', [apiKeyId, now])),
      );
      return addCounts(counts);
    },
    async replayFailed(query: OpArgs<'replayFailed'>[0], now: Date) {
      const list = await all();
      if (list.length === 1) return onHead('replayFailed', [query, now]);
      // Oldest first, one limit and one byte budget for all, as one store reads its page.
      const budget = query.maxBytes ?? MAX_INBOX_PAGE_BYTES;
      const moved: StoredEvent[] = [];
      let bytes = 0;
      for (const era of within(list, query.from, query.to)) {
        const limit = query.limit - moved.length;
        if (limit <= 0 || bytes >= budget) break;
        const part = await run(era, 'replayFailed', [{ ...query, limit, maxBytes: budget - bytes }, now]);
        moved.push(...part);
        for (const event of part) bytes += storedBytes(event);
      }
      return moved;
    },
    async restoreFailed(before: StoredEvent[], now: Date) {
      const list = await all();
      if (list.length === 1) return onHead('restoreFailed', [before, now]);
      const restored = new Set<string>();
      for (const [era, events] of groupBy(before, (e) => eraAt(list, Date.parse(e.received_at)))) {
        for (const id of await run(era, 'restoreFailed', [events, now])) restored.add(id);
      }
      return restored;
    },
    async restartFailedDeliveries(query: OpArgs<'restartFailedDeliveries'>[0], now: Date) {
      const list = await all();
      if (list.length === 1) return onHead('restartFailedDeliveries', [query, now]);
      // Oldest era first, each taking what the limit leaves; the subscription's state is the
      // head's (every era holds a copy of it).
      const messages: AttemptMessage[] = [];
      let remaining = 0;
      for (const era of list) {
        const limit = Math.max(query.limit - messages.length, 0);
        const recovery = await run(era, 'restartFailedDeliveries', [{ ...query, limit }, now]);
        if (recovery.subscription !== 'enabled') {
          if (era.index === 0) return recovery;
          continue;
        }
        messages.push(...tagged(era, recovery.messages));
        remaining += recovery.remaining;
      }
      return { subscription: 'enabled', messages, remaining };
    },
    async unrestartDeliveries(messages: AttemptMessage[], reason: string, now: Date) {
      for (const [start, group] of groupBy(messages, (m) => m.era ?? null)) {
        if (start === null) await onHead('unrestartDeliveries', [group, reason, now]);
        else await handleOf(start).unrestartDeliveries(group, reason, now);
      }
    },
    async fanOut(apiKeyId: string, eventIds: string[], now: Date) {
      const list = await all();
      if (list.length === 1) return onHead('fanOut', [apiKeyId, eventIds, now]);
      // An era's fan-out creates deliveries for the events it holds, none for the others.
      const per = await Promise.all(list.map((era) => run(era, 'fanOut', [apiKeyId, eventIds, now])));
      return per.flatMap((messages, i) => tagged(list[i] as Era, messages));
    },
    async storeCounts() {
      const list = await current();
      return addStoreCounts(await Promise.all(list.map((era) => run(era, 'storeCounts', []))));
    },
    async writeEvents(writes: EventWrites, now: Date): Promise<WrittenEvents> {
      const latest = Math.max(...eventsOf(writes).map((a) => Date.parse(a.event.timestamp)), now.getTime());
      const list = await all(latest);
      if (list.length === 1) return writeTo(list[0] as Era, writes, list, now);
      const shares = await sharesByEra(writes, list, now);
      const results = await Promise.all([...shares].map(([era, share]) => writeTo(era, share, list, now)));
      return {
        delivered: results.flatMap((r) => r.delivered),
        retry: results.flatMap((r) => r.retry),
        failed: results.flatMap((r) => r.failed),
        subscribed: results.some((r) => r.subscribed),
      };
    },
    async size() {
      const list = await all();
      return stubOf(eraAt(list, Date.now()).name).size(tenant);
    },
    async erase() {
      const list = await current();
      const counts = await Promise.all(list.slice(1).map((era) => stubOf(era.name).erase(tenant)));
      counts.push(await head.erase(tenant));
      lists.delete(tenant);
      return addStoreCounts(counts);
    },
    eraList: () => head.eraList(tenant),
    async openEra(start?: string) {
      const list = await head.openEra(tenant, start);
      lists.set(tenant, list);
      return list;
    },
  };

  /** Writes `writes` to `era` in one transaction; opens the next era if it is the newest and full. */
  async function writeTo(era: Era, writes: EventWrites, list: Era[], now: Date): Promise<WrittenEvents> {
    const newest = era.index === list.length - 1;
    const prepared = { ...prepareWrites(writes), claimed: !newest };
    const { bytes, ...written } = await stubOf(era.name).write(tenant, prepared, now);
    if (newest && options.splitBytes !== undefined && bytes >= options.splitBytes) {
      lists.set(tenant, await head.openEra(tenant));
    }
    return written;
  }

  /**
   * `writes` by the era of each event's time received. An event received within the claim window
   * of its era's start first claims its id in the older eras the window reaches (eras.ts): one
   * that holds it takes the write, where the copy stored is. Copies of one id in the batch go
   * together, to the era of the earliest, which comes first in its share: the copy stored, as in
   * one store, lies in the span of the era holding it.
   */
  async function sharesByEra(
    writes: EventWrites,
    list: Era[],
    now: Date,
  ): Promise<Map<Era, Required<EventWrites>>> {
    const earliest = new Map<string, number>();
    for (const { event } of eventsOf(writes)) {
      const at = Date.parse(event.timestamp);
      const seen = earliest.get(event.event_id);
      if (seen === undefined || at < seen) earliest.set(event.event_id, at);
    }
    const eraOf = new Map<string, Era>();
    const claims = new Map<Era, Set<string>>();
    for (const [id, at] of earliest) {
      const era = eraAt(list, at);
      eraOf.set(id, era);
      for (const older of claimEras(list, era, at)) {
        const ids = claims.get(older) ?? new Set<string>();
        ids.add(id);
        claims.set(older, ids);
      }
    }
    // Oldest first, each answer overriding the one before: of two older eras holding an id
    // (never, but for copies stored before their claims), the newer takes the write.
    const order = [...claims].sort(([a], [b]) => a.index - b.index);
    const held = await Promise.all(order.map(([era, ids]) => run(era, 'claimEvents', [[...ids], now])));
    order.forEach(([era], i) => {
      for (const id of held[i] ?? []) eraOf.set(id, era);
    });
    const shares = new Map<Era, Required<EventWrites>>();
    const share = (event: QueuedEvent): Required<EventWrites> => {
      const era = eraOf.get(event.event_id) as Era;
      const found = shares.get(era);
      if (found !== undefined) return found;
      const made: Required<EventWrites> = { delivered: [], retry: [], failed: [] };
      shares.set(era, made);
      return made;
    };
    const byTime = <A extends EventAttempt>(attempts: readonly A[] = []) =>
      [...attempts].sort((a, b) => Date.parse(a.event.timestamp) - Date.parse(b.event.timestamp));
    for (const a of byTime(writes.delivered)) share(a.event).delivered.push(a);
    for (const a of byTime(writes.retry)) share(a.event).retry.push(a);
    for (const a of byTime(writes.failed)) share(a.event).failed.push(a);
    return shares;
  }

  const handleOf = (start: string | null | undefined): TenantStoreHandle =>
    start === null || start === undefined ? handle : eraHandle(stubOf(eraName(tenant, start)), tenant, head);

  const handle = asHandle({ ...routed, era: handleOf }, onHead);
  return handle;
}

/**
 * The handle of one era's store, for the calls about a delivery there (the dispatcher's). A
 * delivery's end is counted on its subscription in the head, where the subscription is written.
 */
function eraHandle(stub: Stub, tenant: string, head: Stub): TenantStoreHandle {
  const calls: Partial<Record<string, (...args: never[]) => Promise<unknown>>> = {
    async recordAttempt(r: OpArgs<'recordAttempt'>[0], now: Date) {
      // The count first, once per attempt: should the move below fail, the message is retried and
      // the count is not made twice; made after, it would be lost with a head that failed once.
      if (r.subscriptionId !== null && r.status !== 'pending') {
        const { apiKeyId, subscriptionId, status, disableAfter, deliveryId, round, attempt } = r;
        const outcome = { apiKeyId, subscriptionId, status, disableAfter, deliveryId, round, attempt };
        await head.run(tenant, 'countDeliveryOutcome', [outcome, now]);
      }
      return (await stub.run(tenant, 'recordAttempt', [{ ...r, subscriptionId: null }, now])) as boolean;
    },
    /** As the era holds it, but whether it disabled the subscription is the head's to say. */
    async deliveryEnded(key: OpArgs<'deliveryEnded'>[0]) {
      const ended = (await stub.run(tenant, 'deliveryEnded', [key])) as OpResult<'deliveryEnded'>;
      if (ended === null || ended.disabled !== null) return ended;
      const sub = (await head.run(tenant, 'getSubscription', [
        { apiKeyId: key.apiKeyId, id: ended.exhausted.subscription_id },
      ])) as (OpResult<'getSubscription'> & { disabled_at?: string | null }) | null;
      if (sub === null || sub.enabled !== 0 || sub.disabled_at !== ended.exhausted.failed_at) return ended;
      const { subscription_id: _s, url: _u, ...delivery } = ended.exhausted;
      return {
        ...ended,
        disabled: {
          subscription_id: ended.exhausted.subscription_id,
          url: sub.url,
          reason: sub.disabled_reason ?? 'disabled',
          consecutive_failures: sub.consecutive_failures,
          disabled_at: ended.exhausted.failed_at,
          last_delivery: delivery,
        },
      };
    },
  };
  return asHandle(calls, (op, args) => stub.run(tenant, op, args));
}

/**
 * A handle whose operations are `own`'s, and any other one `other(op, args)`: one RPC. Not a
 * thenable (`await handle` answers the handle), and no symbol is an operation.
 */
function asHandle(
  own: Partial<Record<string, unknown>>,
  other: (op: string, args: unknown[]) => Promise<unknown>,
): TenantStoreHandle {
  return new Proxy(own, {
    get(target, op: string | symbol) {
      if (typeof op === 'symbol' || op === 'then') return undefined;
      if (Object.hasOwn(target, op)) return target[op];
      return (...args: unknown[]) => other(op, args);
    },
  }) as unknown as TenantStoreHandle;
}

/** What several eras hold, as one store's counts: the subscriptions are copies of the head's. */
const addStoreCounts = (counts: OpResult<'storeCounts'>[]): OpResult<'storeCounts'> =>
  counts.reduce((sum, c) => ({
    events: sum.events + c.events,
    subscriptions: Math.max(sum.subscriptions, c.subscriptions),
    deliveries: sum.deliveries + c.deliveries,
  }));

/** Every event attempt of `writes`. */
const eventsOf = (writes: EventWrites): EventAttempt[] => [
  ...(writes.delivered ?? []),
  ...(writes.retry ?? []),
  ...(writes.failed ?? []),
];

function groupBy<T, K>(items: readonly T[], keyOf: (item: T) => K): Map<K, T[]> {
  const groups = new Map<K, T[]>();
  for (const item of items) {
    const key = keyOf(item);
    const group = groups.get(key);
    if (group === undefined) groups.set(key, [item]);
    else group.push(item);
  }
  return groups;
}

export type { TenantOps };
