import {
  createExecutionContext,
  createMessageBatch,
  getQueueResult,
  runDurableObjectAlarm,
  runInDurableObject,
} from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import {
  type AttemptMessage,
  DELIVERY_QUEUE,
  EVENT_QUEUE,
  type FanOutMessage,
  MAX_SUBSCRIPTIONS_PER_KEY,
  type QueuedEvent,
  SUBSCRIPTION_DISABLED_TYPE,
} from '@triggers/event-schema';
import { ERA_LEAD_MS, eraName, tenantStore } from '@triggers/event-store';
import { Webhook } from 'standardwebhooks';
import { afterEach, describe, expect, inject, it, vi } from 'vitest';
import worker from '../src/index.ts';
import type { TenantStore } from '../src/tenant-store.ts';
import { event, storeOf } from './queue.ts';

/**
 * A tenant's store past one object (event-store's eras.ts) through the consumer Worker's own
 * queue handlers: event-queue's batches open the next era past STORE_SPLIT_BYTES and store each
 * event in the era of its time received; the dispatcher reaches an era's delivery by the `era` its
 * attempt message names. Each era is a real local store object, read here from its own SQLite;
 * subscribers are the real HTTP receiver (test/node/receiver.ts). What the Worker sends to its
 * queues is caught with spies, as in delivery.test.ts and operational.test.ts, and handed to its
 * handlers by the test, so that the test runtime's consumers do not run it behind the test's back.
 */

afterEach(() => {
  vi.restoreAllMocks();
});

const RECEIVER = inject('receiverUrl');
const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;

/** A tenant of its own per test: the store handle caches each tenant's eras for the isolate. */
const newKey = () => `key_era_${crypto.randomUUID()}`;

/** The Worker's env with these vars (settings.ts reads them once per env object). */
const envWith = (vars: Record<string, unknown> = {}) => ({ ...env, ...vars }) as typeof env;

/** Runs one batch of `bodies` on `queue` through the Worker's queue handler; answers the queue's result. */
async function runBatch(queue: string, bodies: unknown[], vars: Record<string, unknown> = {}, attempts = 1) {
  const batch = createMessageBatch(
    queue,
    bodies.map((body) => ({ id: crypto.randomUUID(), timestamp: new Date(), attempts, body })),
  );
  const ctx = createExecutionContext();
  await worker.queue(batch, envWith(vars));
  return { result: await getQueueResult(batch, ctx), ids: batch.messages.map((m) => m.id) };
}

/**
 * Catches what the Worker sends to delivery-queue (fan-out and attempt messages, `sendBatch` and
 * `send` alike) and to event-queue (operational events), until `vi.restoreAllMocks()`.
 */
function catchSends() {
  const deliveries: unknown[] = [];
  const events: QueuedEvent[] = [];
  vi.spyOn(env.DELIVERY_QUEUE, 'sendBatch').mockImplementation(async (messages) => {
    deliveries.push(...[...messages].map((m) => m.body));
    return {} as QueueSendBatchResponse;
  });
  vi.spyOn(env.DELIVERY_QUEUE, 'send').mockImplementation(async (body) => {
    deliveries.push(body);
    return {} as QueueSendResponse;
  });
  vi.spyOn(env.EVENT_QUEUE, 'sendBatch').mockImplementation(async (messages) => {
    events.push(...[...messages].map((m) => m.body as QueuedEvent));
    return {} as QueueSendBatchResponse;
  });
  /** The delivery-queue messages sent so far, and forgets them. */
  const take = () => deliveries.splice(0);
  return { take, events };
}

/** Runs `fn` on the local SQLite of the store object named `name` (the head: the tenant's id). */
const inObject = <T>(name: string, fn: (sql: SqlStorage) => T) =>
  runInDurableObject(env.TENANTS.get(env.TENANTS.idFromName(name)), (_: TenantStore, state) =>
    fn(state.storage.sql),
  );

/** The event ids the object `name` holds, from its `events` view. */
const heldBy = (name: string) =>
  inObject(name, (sql) =>
    sql
      .exec<{ event_id: string }>('SELECT event_id FROM events ORDER BY event_id')
      .toArray()
      .map((r) => r.event_id),
  );

/** The deliveries the object `name` holds, as its own table has them. */
const deliveriesIn = (name: string) =>
  inObject(name, (sql) =>
    sql
      .exec<{ id: string; event_id: string; subscription_id: string; status: string; attempts: number }>(
        'SELECT id, event_id, subscription_id, status, attempts FROM deliveries ORDER BY id',
      )
      .toArray()
      .map((r) => ({ ...r })),
  );

/** The subscriptions the object `name` holds, as its own table has them. */
const subscriptionsIn = (name: string) =>
  inObject(name, (sql) =>
    sql
      .exec<{ id: string; enabled: number; consecutive_failures: number }>(
        'SELECT id, enabled, consecutive_failures FROM subscriptions ORDER BY id',
      )
      .toArray()
      .map((r) => ({ ...r })),
  );

/** Subscribes `apiKeyId` (in its head) to every event, at `${RECEIVER}/<token>/<behaviour>`. */
async function subscribe(apiKeyId: string, behaviour: string) {
  const token = crypto.randomUUID();
  const id = `sub_${token.replaceAll('-', '').slice(0, 24)}`;
  await tenantStore(env.TENANTS, apiKeyId).createSubscription(
    { apiKeyId, id, url: `${RECEIVER}/${token}/${behaviour}`, eventTypes: null, secret: SECRET },
    new Date(),
    MAX_SUBSCRIPTIONS_PER_KEY,
  );
  return { id, token };
}

/** What the receiver got for `token`. */
const received = async (token: string) =>
  (await (await fetch(`${RECEIVER}/__received/${token}`)).json()) as {
    method: string;
    headers: Record<string, string>;
    body: string;
  }[];

/** An era start an hour ago, as the era's messages and object name spell it. */
const anHourAgo = () => new Date(Date.now() - HOUR_MS).toISOString();

/**
 * A tenant subscribed at `behaviour` with an era opened an hour ago, one event received now sent
 * through event-queue: answers the tenant, the era's start, the event and the fan-out message the
 * batch sent (caught, not yet handled).
 */
async function eventInEra(behaviour: string, sends: ReturnType<typeof catchSends>) {
  const key = newKey();
  const subscription = await subscribe(key, behaviour);
  const start = anHourAgo();
  await tenantStore(env.TENANTS, key).openEra(start);
  const e = event({ api_key_id: key, type: 'order.created' });
  const { result, ids } = await runBatch(EVENT_QUEUE, [e]);
  expect(result.explicitAcks).toEqual(ids);
  const fanOut = sends.take() as FanOutMessage[];
  expect(fanOut).toEqual([{ api_key_id: key, fan_out: [e.event_id] }]);
  return { key, start, event: e, subscription, fanOut };
}

/** Hands the fan-out messages to the dispatcher; answers the attempt messages it queued. */
async function fanOut(messages: FanOutMessage[], sends: ReturnType<typeof catchSends>, vars = {}) {
  const { result, ids } = await runBatch(DELIVERY_QUEUE, messages, vars);
  expect(result.explicitAcks).toEqual(ids);
  return sends.take() as AttemptMessage[];
}

describe('opening the next era from event-queue', () => {
  it('opens the tenant’s next era about two hours ahead when a batch leaves its store past STORE_SPLIT_BYTES, the batch’s events stored in the head', async () => {
    const key = newKey();
    const events = [event({ api_key_id: key }), event({ api_key_id: key })];
    const before = Date.now();
    const { result, ids } = await runBatch(EVENT_QUEUE, events, { STORE_SPLIT_BYTES: 1 });
    const after = Date.now();
    expect(result.explicitAcks.sort()).toEqual([...ids].sort());

    const list = await tenantStore(env.TENANTS, key).eraList();
    expect(list.starts).toHaveLength(1);
    const start = list.starts[0] as string;
    expect(Date.parse(start)).toBeGreaterThanOrEqual(before + ERA_LEAD_MS);
    expect(Date.parse(start)).toBeLessThanOrEqual(after + ERA_LEAD_MS);
    // The era starts ahead: what arrived now is the head's.
    expect(await heldBy(key)).toEqual(events.map((e) => e.event_id).sort());
    expect(await heldBy(eraName(key, start))).toEqual([]);
  });

  it('opens no era for a batch that leaves the store below STORE_SPLIT_BYTES (wrangler.toml’s 6 GB)', async () => {
    const key = newKey();
    const e = event({ api_key_id: key });
    const { result } = await runBatch(EVENT_QUEUE, [e]);
    expect(result.explicitAcks).toHaveLength(1);
    expect((await tenantStore(env.TENANTS, key).eraList()).starts).toEqual([]);
    expect(await heldBy(key)).toEqual([e.event_id]);
  });
});

describe('a tenant with an era started in the past', () => {
  it('stores the events of a batch received after the era’s start in the era’s object, and those before it in the head', async () => {
    const key = newKey();
    const start = anHourAgo();
    await tenantStore(env.TENANTS, key).openEra(start);
    const early = event({ api_key_id: key, timestamp: new Date(Date.parse(start) - HOUR_MS).toISOString() });
    const late = [
      event({ api_key_id: key, timestamp: new Date(Date.parse(start) + 60_000).toISOString() }),
      event({ api_key_id: key }),
    ];
    const { result, ids } = await runBatch(EVENT_QUEUE, [early, ...late]);
    expect(result.explicitAcks.sort()).toEqual([...ids].sort());
    expect(await heldBy(`${key}@${start}`)).toEqual(late.map((e) => e.event_id).sort());
    expect(await heldBy(key)).toEqual([early.event_id]);
    // Read through the handle as the API reads it: found whichever object holds it.
    for (const e of [early, ...late]) {
      expect(
        await tenantStore(env.TENANTS, key).getEvent({ apiKeyId: key, eventId: e.event_id }),
      ).toMatchObject({ event_id: e.event_id, status: 'delivered' });
    }
  });

  it('delivers a subscribed tenant’s event stored in the era: fan-out, an attempt message naming the era, the dispatcher’s POST, the delivery recorded succeeded in the era’s object', async () => {
    const sends = catchSends();
    const s = await eventInEra('status/204', sends);
    const attempts = await fanOut(s.fanOut, sends);
    expect(attempts).toEqual([
      expect.objectContaining({ api_key_id: s.key, era: s.start, round: 1, attempt: 1 }),
    ]);
    const attempt = attempts[0] as AttemptMessage;

    const { result, ids } = await runBatch(DELIVERY_QUEUE, [attempt]);
    expect(result.explicitAcks).toEqual(ids);
    expect(result.retryMessages).toEqual([]);
    expect(sends.take()).toEqual([]);
    const hooks = await received(s.subscription.token);
    expect(hooks).toHaveLength(1);
    expect(hooks[0]?.method).toBe('POST');
    expect(hooks[0]?.headers['webhook-id']).toBe(attempt.delivery_id);
    expect(new Webhook(SECRET).verify(hooks[0]?.body ?? '', hooks[0]?.headers ?? {})).toMatchObject({
      event_id: s.event.event_id,
      type: 'order.created',
    });

    expect(await deliveriesIn(`${s.key}@${s.start}`)).toEqual([
      {
        id: attempt.delivery_id,
        event_id: s.event.event_id,
        subscription_id: s.subscription.id,
        status: 'succeeded',
        attempts: 1,
      },
    ]);
    expect(await deliveriesIn(s.key)).toEqual([]);
  });

  it('disables the subscription in the head when a delivery of an era’s event fails for good with DELIVERY_DISABLE_AFTER=1: the failure is counted at the head', async () => {
    const sends = catchSends();
    const s = await eventInEra('status/500', sends);
    const [attempt] = await fanOut(s.fanOut, sends);
    if (attempt === undefined) throw new Error('no delivery fanned out');
    expect(attempt.era).toBe(s.start);
    // The shortest schedule the settings take: two attempts (an empty one is the default schedule).
    const vars = { DELIVERY_SCHEDULE: '1', DELIVERY_DISABLE_AFTER: 1 };

    const first = await runBatch(DELIVERY_QUEUE, [attempt], vars);
    expect(first.result.explicitAcks).toEqual(first.ids);
    const next = sends.take();
    expect(next).toEqual([{ ...attempt, attempt: 2 }]);
    const store = tenantStore(env.TENANTS, s.key);
    // A pending delivery counts nothing yet.
    expect(await store.getSubscription({ apiKeyId: s.key, id: s.subscription.id })).toMatchObject({
      enabled: 1,
      consecutive_failures: 0,
    });

    const last = await runBatch(DELIVERY_QUEUE, next, vars);
    expect(last.result.explicitAcks).toEqual(last.ids);
    expect(sends.take()).toEqual([]);
    expect(await received(s.subscription.token)).toHaveLength(2);

    expect(await deliveriesIn(`${s.key}@${s.start}`)).toEqual([
      expect.objectContaining({ id: attempt.delivery_id, status: 'failed', attempts: 2 }),
    ]);
    expect(await store.getSubscription({ apiKeyId: s.key, id: s.subscription.id })).toMatchObject({
      enabled: 0,
      consecutive_failures: 1,
      disabled_reason: 'disabled after 1 failed deliveries in a row',
    });
    // The head's object itself, and the era's copy following it.
    expect(await subscriptionsIn(s.key)).toEqual([
      { id: s.subscription.id, enabled: 0, consecutive_failures: 1 },
    ]);
    expect(await subscriptionsIn(`${s.key}@${s.start}`)).toEqual([
      { id: s.subscription.id, enabled: 0, consecutive_failures: 1 },
    ]);
    // The dispatcher announces the disable this delivery caused.
    expect(sends.events.map((e) => [e.type, e.subject])).toContainEqual([
      SUBSCRIPTION_DISABLED_TYPE,
      s.subscription.id,
    ]);
  });
});

describe('an idempotency-key retry across an era start, in one event-queue batch', () => {
  it('stores the event once and acks both messages, whichever copy comes first', async () => {
    const key = newKey();
    const start = new Date(Date.now() - 60_000).toISOString();
    const store = tenantStore(env.TENANTS, key);
    await store.openEra(start);
    const first = event({ api_key_id: key, timestamp: new Date(Date.parse(start) + 1_000).toISOString() });
    // The sender's retry with the same Idempotency-Key: the same event_id, received 2 s apart,
    // on either side of the start, both in one batch.
    const retry = { ...first, timestamp: new Date(Date.parse(start) - 1_000).toISOString() };
    const { result } = await runBatch(EVENT_QUEUE, [first, retry]);
    expect(result.explicitAcks).toHaveLength(2);
    expect(result.retryMessages).toEqual([]);
    expect(await store.getEvent({ apiKeyId: key, eventId: first.event_id })).toMatchObject({
      received_at: retry.timestamp,
      status: 'delivered',
    });
  });
});

// The lifecycle where one object's call to another fails: the failures are made with spies on
// `env.TENANTS` or in the head's own `env` (a local object cannot be made to fail on demand).

describe('the dispatcher and an era’s delivery', () => {
  it('still counts (and disables at DELIVERY_DISABLE_AFTER=1) a failed era delivery whose count at the head failed once', async () => {
    const sends = catchSends();
    const key = newKey();
    const subscription = await subscribe(key, 'status/500');
    const start = new Date(Date.now() - HOUR_MS).toISOString();
    await tenantStore(env.TENANTS, key).openEra(start);
    const e = event({ api_key_id: key, type: 'order.created' });
    await runBatch(EVENT_QUEUE, [e]);
    const fanOut = sends.take() as FanOutMessage[];
    await runBatch(DELIVERY_QUEUE, fanOut);
    const [attempt] = sends.take() as AttemptMessage[];
    if (attempt?.era !== start) throw new Error('no era delivery');
    // Two attempts in the schedule (the shortest the settings take).
    const settingsVars = { DELIVERY_SCHEDULE: '1', DELIVERY_DISABLE_AFTER: 1 };

    // Attempt 1 (pending), attempt 2 (the last): the head fails once on counting it.
    const first = await runBatch(DELIVERY_QUEUE, [attempt], settingsVars);
    expect(first.result.explicitAcks).toEqual(first.ids);
    const [second] = sends.take() as AttemptMessage[];
    const head = env.TENANTS.idFromName(key);
    const get = env.TENANTS.get.bind(env.TENANTS);
    let failed = false;
    vi.spyOn(env.TENANTS, 'get').mockImplementation((id, options) => {
      const stub = get(id, options);
      if (!id.equals(head)) return stub;
      return new Proxy(stub, {
        get(target, prop) {
          if (prop !== 'run') return Reflect.get(target, prop);
          return (tenant: string, op: string, args: unknown[]) => {
            if (op === 'countDeliveryOutcome' && !failed) {
              failed = true;
              return Promise.reject(new Error('head unavailable (test)'));
            }
            return (target as unknown as { run: (...a: unknown[]) => Promise<unknown> }).run(
              tenant,
              op,
              args,
            );
          };
        },
      });
    });
    const last = await runBatch(DELIVERY_QUEUE, [second], settingsVars);
    expect(failed).toBe(true);
    expect(last.result.retryMessages).toHaveLength(1);
    // The queue hands the message over again.
    const again = await runBatch(DELIVERY_QUEUE, [second], settingsVars, 2);
    expect(again.result.explicitAcks).toEqual(again.ids);
    expect(
      await tenantStore(env.TENANTS, key).getSubscription({ apiKeyId: key, id: subscription.id }),
    ).toMatchObject({ enabled: 0, consecutive_failures: 1 });
  });
});

describe('a retired era called again through a cached list', () => {
  it('does not leave the retired era’s object re-created, with its tables and no alarm to retire it again', async () => {
    const key = newKey();
    const store = storeOf(key);
    const first = new Date(Date.now() - 60 * DAY_MS).toISOString();
    const second = new Date(Date.now() - 50 * DAY_MS).toISOString();
    await store.openEra(first);
    await store.openEra(second);
    const old = event({ api_key_id: key, timestamp: new Date(Date.parse(first) + HOUR_MS).toISOString() });
    await store.writeEvents({ delivered: [{ event: old, attempts: 1 }] }, new Date(old.timestamp));
    const eraObject = env.TENANTS.get(env.TENANTS.idFromName(`${key}@${first}`));
    expect(await runDurableObjectAlarm(eraObject)).toBe(true);
    expect((await store.eraList()).starts).toEqual([second]);

    // This isolate's list still names the retired era (cached two hours): a lookup by id probes it.
    expect(await store.getEvent({ apiKeyId: key, eventId: 'nothing' })).toBeNull();
    const left = await runInDurableObject(eraObject, async (_: TenantStore, state) => ({
      tables: state.storage.sql.exec("SELECT name FROM sqlite_master WHERE name = 'store_owner'").toArray()
        .length,
      alarm: await state.storage.getAlarm(),
    }));
    // Either nothing is left (no tables), or an alarm will find it and erase it again.
    expect(left.tables === 0 || left.alarm !== null).toBe(true);
  });
});

describe('a failed copy of the subscriptions, tried again by the alarm', () => {
  it('tries again within a minute when the alarm’s own copy fails', async () => {
    const key = newKey();
    await subscribe(key, 'status/204');
    const store = storeOf(key);
    // An event in the head: its retention has something to keep (holdsExpirable).
    await store.writeEvents({ delivered: [{ event: event({ api_key_id: key }), attempts: 1 }] }, new Date());
    await store.openEra(new Date(Date.now() + 2 * HOUR_MS).toISOString());
    const headStub = env.TENANTS.get(env.TENANTS.idFromName(key));
    await runInDurableObject(headStub, (instance: TenantStore) => {
      const self = instance as unknown as { env: typeof env };
      const real = self.env.TENANTS;
      self.env = {
        ...self.env,
        TENANTS: {
          idFromName: (name: string) => real.idFromName(name),
          get: (id: DurableObjectId) => {
            if (id.equals(real.idFromName(key))) return real.get(id);
            return {
              run: () => Promise.reject(new Error('era unreachable (test)')),
            };
          },
        } as unknown as typeof env.TENANTS,
      };
    });
    await store.updateSubscription({ apiKeyId: key, id: 'x' }, { enabled: false }, new Date());
    const stale = () =>
      runInDurableObject(headStub, async (_: TenantStore, state) => ({
        stale: state.storage.kv.get('eras.copy_stale'),
        alarmIn: ((await state.storage.getAlarm()) ?? 0) - Date.now(),
      }));
    const before = await stale();
    expect(before.stale).toBe(true);
    expect(before.alarmIn).toBeLessThanOrEqual(60_000);
    expect(await runDurableObjectAlarm(headStub)).toBe(true);
    const after = await stale();
    expect(after.stale).toBe(true);
    expect(after.alarmIn).toBeLessThanOrEqual(60_000);
  });
});

describe('claims purge', () => {
  it('keeps the alarm of a store holding claims only, so that its retention purges them', async () => {
    const key = newKey();
    const store = storeOf(key);
    const start = new Date(Date.now() - HOUR_MS).toISOString();
    await store.openEra(start);
    // Received after the start, within a day of it: claimed in the head, stored in the era.
    await store.writeEvents({ delivered: [{ event: event({ api_key_id: key }), attempts: 1 }] }, new Date());
    const head = env.TENANTS.get(env.TENANTS.idFromName(key));
    expect(await runDurableObjectAlarm(head)).toBe(true);
    const state = await runInDurableObject(head, async (_: TenantStore, s) => ({
      claims: s.storage.sql.exec('SELECT count(*) AS n FROM event_claims').one().n,
      alarm: await s.storage.getAlarm(),
    }));
    expect(state.claims).toBe(1);
    expect(state.alarm).not.toBeNull();
  });
});
