import { createScheduledController, runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import type { QueuedEvent } from '@triggers/event-schema';
import { commit, getDeadLetter, recordUnreadable } from '@triggers/event-store';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { r2Archive } from '../src/archive.ts';
import worker from '../src/index.ts';
import { RETENTION_CATCH_UP_MS, RETENTION_INTERVAL_MS, type TenantStore } from '../src/tenant-store.ts';
import { event, storeOf, stubOf } from './queue.ts';

afterEach(() => {
  vi.restoreAllMocks();
});

/** Runs `fn` and answers the log lines it wrote (the store objects run in this isolate too). */
async function logsOf(fn: () => Promise<unknown>): Promise<Record<string, unknown>[]> {
  const lines: Record<string, unknown>[] = [];
  const spies = (['log', 'warn', 'error'] as const).map((method) =>
    vi.spyOn(console, method).mockImplementation((line: unknown) => {
      lines.push(JSON.parse(String(line)));
    }),
  );
  try {
    await fn();
  } finally {
    for (const spy of spies) spy.mockRestore();
  }
  return lines;
}

const DAY_MS = 86_400_000;

/** Stores `events` in their tenants' stores as the consumer did when each arrived (`now` in the past). */
async function storedAtArrival(...events: QueuedEvent[]): Promise<void> {
  for (const e of events) {
    await storeOf(e.api_key_id).writeEvents(
      { delivered: [{ event: e, attempts: 1 }] },
      new Date(e.timestamp),
    );
  }
}

/** When `apiKeyId`'s store will next run its retention (ms since the epoch), or null. */
const alarmOf = (apiKeyId: string) =>
  runInDurableObject(stubOf(apiKeyId), (_: TenantStore, state) => state.storage.getAlarm());

/** Runs the retention alarm of `apiKeyId`'s store, as the runtime does when it rings; answers its log lines. */
async function ring(apiKeyId: string): Promise<Record<string, unknown>[]> {
  let ran = false;
  const lines = await logsOf(async () => {
    ran = await runDurableObjectAlarm(stubOf(apiKeyId));
  });
  expect(ran).toBe(true);
  return lines;
}

/**
 * Gives `apiKeyId`'s store object these vars over the Worker's, as another deployment's settings
 * would (the object reads its settings from its own `env`).
 */
const setVars = (apiKeyId: string, vars: Record<string, unknown>) =>
  runInDurableObject(stubOf(apiKeyId), (instance: TenantStore) => {
    const object = instance as unknown as { env: typeof env };
    object.env = { ...object.env, ...vars } as typeof env;
  });

const read = (e: QueuedEvent) =>
  storeOf(e.api_key_id).getEvent({ apiKeyId: e.api_key_id, eventId: e.event_id });
const daysAgo = (days: number) => new Date(Date.now() - days * DAY_MS).toISOString();

describe('each tenant’s retention, on its store’s alarm', () => {
  it('is armed about an hour ahead by a write', async () => {
    const key = `key_${crypto.randomUUID()}`;
    expect(await alarmOf(key)).toBeNull();
    const before = Date.now();
    await storedAtArrival(event({ api_key_id: key }));
    const alarm = await alarmOf(key);
    expect(alarm).toBeGreaterThanOrEqual(before + RETENTION_INTERVAL_MS);
    expect(alarm).toBeLessThanOrEqual(Date.now() + RETENTION_INTERVAL_MS);
  });

  it('purges delivered events older than RETENTION_DELIVERED_DAYS, logs what it did with the tenant and its size, and rings again in an hour', async () => {
    const key = `key_${crypto.randomUUID()}`;
    const old = event({ api_key_id: key, timestamp: daysAgo(8) });
    const recent = event({ api_key_id: key, timestamp: daysAgo(6) });
    // Each stored when it arrived: retention counts a delivered event's age from its last change too.
    await storedAtArrival(old, recent);

    const started = Date.now();
    const lines = await ring(key);
    expect(await read(old)).toBeNull();
    expect(await read(recent)).not.toBeNull();
    const line = lines.find((l) => l.message === 'retention');
    expect(line).toMatchObject({
      level: 'info',
      api_key_id: key,
      delivered: 1,
      deliveries: 0,
      delivery_attempts: 0,
      expired_secrets: 0,
      complete: true,
      delivered_days: 7,
      failed_days: 30,
    });
    expect(line?.store_bytes).toBeGreaterThan(0);
    expect(lines.some((l) => l.message === 'event store nearly full')).toBe(false);
    // The store still holds an event: the next run is an interval ahead.
    expect(await alarmOf(key)).toBeGreaterThanOrEqual(started + RETENTION_INTERVAL_MS);
  });

  it('arms no next run once the store holds nothing left to purge', async () => {
    const key = `key_${crypto.randomUUID()}`;
    await storedAtArrival(event({ api_key_id: key, timestamp: daysAgo(8) }));
    const lines = await ring(key);
    expect(lines.find((l) => l.message === 'retention')).toMatchObject({ delivered: 1, complete: true });
    expect(await alarmOf(key)).toBeNull();
  });

  it('goes on a minute later when a run stops at its bound with more to purge', async () => {
    const key = `key_${crypto.randomUUID()}`;
    // Ten expired days with an event each, one more than a run drops (9 rounds of a day each).
    for (let day = 0; day < 10; day++)
      await storedAtArrival(event({ api_key_id: key, timestamp: daysAgo(8 + 2 * day) }));
    const started = Date.now();
    const lines = await ring(key);
    expect(lines.find((l) => l.message === 'retention')).toMatchObject({
      delivered: 9,
      complete: false,
    });
    const alarm = (await alarmOf(key)) ?? 0;
    expect(alarm).toBeGreaterThanOrEqual(started + RETENTION_CATCH_UP_MS);
    expect(alarm).toBeLessThan(started + RETENTION_INTERVAL_MS);
  });

  it('says loudly when the store is past STORE_WARN_BYTES', async () => {
    const key = `key_${crypto.randomUUID()}`;
    await storedAtArrival(event({ api_key_id: key }));
    await setVars(key, { STORE_WARN_BYTES: 1 });
    const lines = await ring(key);
    expect(lines.find((l) => l.message === 'event store nearly full')).toMatchObject({
      level: 'error',
      api_key_id: key,
      store_bytes: expect.any(Number),
      store_warn_bytes: 1,
    });
  });
});

describe('the store watch while writing', () => {
  const alarms = (lines: Record<string, unknown>[]) =>
    lines.filter((l) => l.message === 'event store nearly full');

  it('logs `event store nearly full` from a write past STORE_WARN_BYTES, at most once a minute per store', async () => {
    const key = `key_${crypto.randomUUID()}`;
    await setVars(key, { STORE_WARN_BYTES: 1 });
    const first = alarms(await logsOf(() => storedAtArrival(event({ api_key_id: key }))));
    expect(first).toEqual([
      expect.objectContaining({
        level: 'error',
        api_key_id: key,
        store_bytes: expect.any(Number),
        store_warn_bytes: 1,
      }),
    ]);
    expect(alarms(await logsOf(() => storedAtArrival(event({ api_key_id: key }))))).toEqual([]);
    // Another tenant's store watches its own size.
    const other = `key_${crypto.randomUUID()}`;
    await setVars(other, { STORE_WARN_BYTES: 1 });
    expect(alarms(await logsOf(() => storedAtArrival(event({ api_key_id: other }))))).toHaveLength(1);
  });

  it('stays quiet below STORE_WARN_BYTES', async () => {
    const key = `key_${crypto.randomUUID()}`;
    expect(alarms(await logsOf(() => storedAtArrival(event({ api_key_id: key }))))).toEqual([]);
  });
});

/** Runs the Worker's scheduled handler at `now` with `vars` over its own, and returns its log lines. */
function runScheduled(now: Date, vars: Record<string, unknown> = {}) {
  const controller = createScheduledController({ scheduledTime: now.getTime(), cron: '*/5 * * * *' });
  return logsOf(() => worker.scheduled(controller, { ...env, ...vars } as typeof env));
}

describe('the scheduled run, for D1’s dead letters', () => {
  const unreadable = (messageId: string, created: Date) =>
    commit(env.DB, [
      recordUnreadable(
        env.DB,
        [
          {
            messageId,
            queue: 'event-queue',
            reason: 'malformed',
            attempts: 1,
            body: '"x"',
            body_encoding: 'json',
            enqueuedAt: created,
          },
        ],
        created,
      ),
    ]);

  it('purges unreadable dead letters older than RETENTION_FAILED_DAYS and logs what it did with D1’s size', async () => {
    const now = new Date();
    const [old, recent] = [crypto.randomUUID(), crypto.randomUUID()];
    await unreadable(old, new Date(now.getTime() - 31 * DAY_MS));
    await unreadable(recent, new Date(now.getTime() - 29 * DAY_MS));
    const lines = await runScheduled(now);
    expect(await getDeadLetter(env.DB, old)).toBeNull();
    expect(await getDeadLetter(env.DB, recent)).not.toBeNull();
    const line = lines.find((l) => l.message === 'retention');
    expect(line).toMatchObject({
      level: 'info',
      store: 'd1',
      dead_letters: 1,
      complete: true,
      failed_days: 30,
    });
    expect(line?.store_bytes).toBeGreaterThan(0);
    expect(lines.some((l) => l.message === 'event store nearly full')).toBe(false);
  });

  it('says loudly when D1 is past STORE_WARN_BYTES', async () => {
    const lines = await runScheduled(new Date(), { STORE_WARN_BYTES: 1 });
    expect(lines.find((l) => l.message === 'event store nearly full')).toMatchObject({
      level: 'error',
      store: 'd1',
      store_warn_bytes: 1,
    });
  });
});

describe('the retention run with the ARCHIVE bucket (local R2)', () => {
  /** The NDJSON lines of a gzip-compressed archive object. */
  async function linesOf(object: R2ObjectBody): Promise<Record<string, unknown>[]> {
    const text = await new Response(object.body.pipeThrough(new DecompressionStream('gzip'))).text();
    return text
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line));
  }

  it('archives expired events as gzipped NDJSON, one object per tenant and day, then purges them', async () => {
    const at = daysAgo;
    const a = `key_${crypto.randomUUID()}`;
    const b = `key_${crypto.randomUUID()}`;
    const events = [
      event({ api_key_id: a, timestamp: at(9) }),
      event({ api_key_id: a, timestamp: at(8) }),
      event({ api_key_id: a, timestamp: at(8) }),
      event({ api_key_id: b, timestamp: at(8) }),
    ];
    await storedAtArrival(...events);

    const started = new Date();
    const lines = await ring(a);
    const linesOfB = await ring(b);
    const listed = async (key: string) =>
      (await env.ARCHIVE.list({ prefix: `archive/${key}/`, include: ['httpMetadata', 'customMetadata'] }))
        .objects;
    const ofA = await listed(a);
    // archive/<key>/<day>/<run's time>-<invocation>-<round>.ndjson.gz
    const stamp = started.toISOString().slice(0, 10).replace(/-/g, '');
    const keyOf = (day: string) =>
      ofA.find((o) => o.key.startsWith(`archive/${a}/${day.slice(0, 10)}/`))?.key ?? '';
    expect(ofA).toHaveLength(2);
    for (const day of [at(9), at(8)]) {
      expect(keyOf(day)).toMatch(
        // One day a round: the round number is the object's last part.
        new RegExp(`^archive/${a}/${day.slice(0, 10)}/${stamp}T\\d{6}Z-[0-9a-f]{8}-\\d\\.ndjson\\.gz$`),
      );
    }
    expect(ofA[0]?.httpMetadata).toMatchObject({
      contentType: 'application/x-ndjson',
      contentEncoding: 'gzip',
    });
    const dayOf8 = await env.ARCHIVE.get(keyOf(at(8)));
    const archived = await linesOf(dayOf8 as R2ObjectBody);
    expect(archived.map((e) => e.event_id).sort()).toEqual([events[1]?.event_id, events[2]?.event_id].sort());
    expect(archived[0]).toMatchObject({ api_key_id: a, status: 'delivered', payload: events[1]?.payload });
    expect((await listed(b)).map((o) => o.customMetadata)).toEqual([{ events: '1' }]);

    for (const e of events) expect(await read(e)).toBeNull();
    expect(lines.find((l) => l.message === 'retention')).toMatchObject({
      archived_events: 3,
      archived_objects: 2,
    });
    expect(linesOfB.find((l) => l.message === 'retention')).toMatchObject({
      archived_events: 1,
      archived_objects: 1,
    });
  });

  it('never overwrites the objects of an earlier run, whose events are already gone', async () => {
    const a = `key_${crypto.randomUUID()}`;
    const day = daysAgo(8);
    const first = event({ api_key_id: a, timestamp: day });
    await storedAtArrival(first);
    // A run archives and deletes `first`.
    await ring(a);
    expect(await read(first)).toBeNull();
    // The next run: same tenant and day, round 1 again.
    const second = event({ api_key_id: a, timestamp: day });
    await storedAtArrival(second);
    await ring(a);

    const objects = (await env.ARCHIVE.list({ prefix: `archive/${a}/` })).objects;
    expect(objects).toHaveLength(2);
    const ids = await Promise.all(
      objects.map(async (o) => (await linesOf((await env.ARCHIVE.get(o.key)) as R2ObjectBody))[0]?.event_id),
    );
    expect(ids.sort()).toEqual([first.event_id, second.event_id].sort());
  });

  it('refuses to write over an existing object even under the same name', async () => {
    const now = new Date();
    const e = event({ timestamp: daysAgo(8) });
    await storedAtArrival(e);
    const stored = await read(e);
    if (stored === null) throw new Error('not stored');
    const once = r2Archive(env.ARCHIVE, now, 'fixed000');
    await once.archive([stored], 1);
    const again = r2Archive(env.ARCHIVE, now, 'fixed000');
    await expect(again.archive([stored], 1)).rejects.toThrow(/exists already/);
  });

  it('purges nothing when the archive cannot be written, logs the failure and tries again in an hour', async () => {
    const e = event({ timestamp: daysAgo(8) });
    await storedAtArrival(e);
    // Mocked, on the store object's own binding: a local R2 bucket cannot be made to fail on demand.
    await runInDurableObject(stubOf(e.api_key_id), (instance: TenantStore) => {
      const bucket = (instance as unknown as { env: typeof env }).env.ARCHIVE;
      vi.spyOn(bucket, 'put').mockRejectedValue(new Error('R2 is down'));
    });
    const started = Date.now();
    const lines = await ring(e.api_key_id);
    expect(lines.find((l) => l.message === 'retention failed')).toMatchObject({
      level: 'error',
      api_key_id: e.api_key_id,
      error: expect.stringContaining('R2 is down'),
      archived_events: 0,
    });
    expect(await read(e)).not.toBeNull();
    expect(await alarmOf(e.api_key_id)).toBeGreaterThanOrEqual(started + RETENTION_INTERVAL_MS);
  });

  it('archives nothing without the binding, and purges as before', async () => {
    const e = event({ timestamp: daysAgo(8) });
    await storedAtArrival(e);
    await setVars(e.api_key_id, { ARCHIVE: undefined });
    const lines = await ring(e.api_key_id);
    expect(await read(e)).toBeNull();
    expect((await env.ARCHIVE.list({ prefix: `archive/${e.api_key_id}/` })).objects).toEqual([]);
    expect(lines.find((l) => l.message === 'retention')).not.toHaveProperty('archived_events');
  });
});
