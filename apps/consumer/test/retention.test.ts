import { createMessageBatch, createScheduledController } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import type { QueuedEvent } from '@triggers/event-schema';
import { commit, getEvent, storeDelivered } from '@triggers/event-store';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { r2Archive } from '../src/archive.ts';
import worker from '../src/index.ts';
import { STORE_WATCH_INTERVAL_MS } from '../src/retention.ts';
import { event } from './queue.ts';

afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

/** Runs `fn` and answers the log lines it wrote. */
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

/** Runs the Worker's scheduled handler at `now` with `vars` over its own, and returns its log lines. */
function runScheduled(now: Date, vars: Record<string, unknown> = {}) {
  const controller = createScheduledController({ scheduledTime: now.getTime(), cron: '*/5 * * * *' });
  return logsOf(() => worker.scheduled(controller, { ...env, ...vars } as typeof env));
}

/** The store write of `e` as the consumer makes it, moments after the ingest Worker accepted it. */
const storedAtArrival = (e: QueuedEvent) =>
  storeDelivered(env.DB, [{ event: e, attempts: 1 }], new Date(e.timestamp));

describe('the scheduled retention run', () => {
  it('purges delivered events older than RETENTION_DELIVERED_DAYS and logs what it did with the store size', async () => {
    const now = new Date();
    const old = event({ timestamp: new Date(now.getTime() - 8 * DAY_MS).toISOString() });
    const recent = event({ timestamp: new Date(now.getTime() - 6 * DAY_MS).toISOString() });
    // Each stored when it arrived: retention counts a delivered event's age from its last change too.
    await commit(
      env.DB,
      [old, recent].map((e) => storedAtArrival(e)),
    );

    const lines = await runScheduled(now);
    const read = (e: typeof old) => getEvent(env.DB, { apiKeyId: e.api_key_id, eventId: e.event_id });
    expect(await read(old)).toBeNull();
    expect(await read(recent)).not.toBeNull();
    const line = lines.find((l) => l.message === 'retention');
    expect(line).toMatchObject({
      level: 'info',
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
  });

  it('says loudly when the store is past STORE_WARN_BYTES', async () => {
    const lines = await runScheduled(new Date(), { STORE_WARN_BYTES: 1 });
    expect(lines.find((l) => l.message === 'event store nearly full')).toMatchObject({
      level: 'error',
      store_warn_bytes: 1,
    });
  });
});

describe('the store watch while consuming event-queue', () => {
  /** One event-queue batch of one event through the Worker's handler, with STORE_WARN_BYTES = `warn`. */
  const batchLogs = (warn: number) =>
    logsOf(() =>
      worker.queue(
        createMessageBatch('event-queue', [
          { id: crypto.randomUUID(), timestamp: new Date(), attempts: 1, body: event() },
        ]),
        { ...env, STORE_WARN_BYTES: warn },
      ),
    );
  const alarms = (lines: Record<string, unknown>[]) =>
    lines.filter((l) => l.message === 'event store nearly full');

  it('logs `event store nearly full` from a batch past STORE_WARN_BYTES, at most once a minute per isolate', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    // Past any watch an earlier test of this isolate made.
    vi.setSystemTime(Date.now() + 10 * STORE_WATCH_INTERVAL_MS);
    const first = alarms(await batchLogs(1));
    expect(first).toEqual([
      expect.objectContaining({ level: 'error', store_bytes: expect.any(Number), store_warn_bytes: 1 }),
    ]);
    vi.setSystemTime(Date.now() + STORE_WATCH_INTERVAL_MS / 2);
    expect(alarms(await batchLogs(1))).toEqual([]);
    vi.setSystemTime(Date.now() + STORE_WATCH_INTERVAL_MS / 2 + 1);
    expect(alarms(await batchLogs(1))).toHaveLength(1);
  });

  it('stays quiet below STORE_WARN_BYTES', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.now() + 100 * STORE_WATCH_INTERVAL_MS);
    expect(alarms(await batchLogs(8_000_000_000))).toEqual([]);
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
    const now = new Date();
    const at = (days: number) => new Date(now.getTime() - days * DAY_MS).toISOString();
    const a = `key_${crypto.randomUUID()}`;
    const b = `key_${crypto.randomUUID()}`;
    const events = [
      event({ api_key_id: a, timestamp: at(9) }),
      event({ api_key_id: a, timestamp: at(8) }),
      event({ api_key_id: a, timestamp: at(8) }),
      event({ api_key_id: b, timestamp: at(8) }),
    ];
    await commit(
      env.DB,
      events.map((e) => storedAtArrival(e)),
    );

    const lines = await runScheduled(now);
    const listed = async (key: string) =>
      (await env.ARCHIVE.list({ prefix: `archive/${key}/`, include: ['httpMetadata', 'customMetadata'] }))
        .objects;
    const ofA = await listed(a);
    // archive/<key>/<day>/<scheduled time>-<invocation>-<round>.ndjson.gz
    const stamp = now
      .toISOString()
      .replace(/\.\d{3}/, '')
      .replace(/[-:]/g, '');
    const keyOf = (day: string) =>
      ofA.find((o) => o.key.startsWith(`archive/${a}/${day.slice(0, 10)}/`))?.key ?? '';
    expect(ofA).toHaveLength(2);
    for (const day of [at(9), at(8)]) {
      expect(keyOf(day)).toMatch(
        new RegExp(`^archive/${a}/${day.slice(0, 10)}/${stamp}-[0-9a-f]{8}-1\\.ndjson\\.gz$`),
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

    for (const e of events)
      expect(await getEvent(env.DB, { apiKeyId: e.api_key_id, eventId: e.event_id })).toBeNull();
    const line = lines.find((l) => l.message === 'retention');
    expect(line?.archived_events).toBeGreaterThanOrEqual(4);
    expect(line?.archived_objects).toBeGreaterThanOrEqual(3);
  });

  it('never overwrites the objects of an earlier try of the same run, whose events are already gone', async () => {
    const now = new Date();
    const a = `key_${crypto.randomUUID()}`;
    const day = new Date(now.getTime() - 8 * DAY_MS).toISOString();
    const first = event({ api_key_id: a, timestamp: day });
    await commit(env.DB, [storedAtArrival(first)]);
    // The first try of the run archives and deletes `first`, then (say) fails in a later round.
    await runScheduled(now);
    expect(await getEvent(env.DB, { apiKeyId: a, eventId: first.event_id })).toBeNull();
    // The platform retries the run: same scheduled time, same tenant and day, round 1 again.
    const second = event({ api_key_id: a, timestamp: day });
    await commit(env.DB, [storedAtArrival(second)]);
    await runScheduled(now);

    const objects = (await env.ARCHIVE.list({ prefix: `archive/${a}/` })).objects;
    expect(objects).toHaveLength(2);
    const ids = await Promise.all(
      objects.map(async (o) => (await linesOf((await env.ARCHIVE.get(o.key)) as R2ObjectBody))[0]?.event_id),
    );
    expect(ids.sort()).toEqual([first.event_id, second.event_id].sort());
  });

  it('refuses to write over an existing object even under the same name', async () => {
    const now = new Date();
    const e = event({ timestamp: new Date(now.getTime() - 8 * DAY_MS).toISOString() });
    await commit(env.DB, [storedAtArrival(e)]);
    const stored = await getEvent(env.DB, { apiKeyId: e.api_key_id, eventId: e.event_id });
    if (stored === null) throw new Error('not stored');
    const once = r2Archive(env.ARCHIVE, now, 'fixed000');
    await once.archive([stored], 1);
    const again = r2Archive(env.ARCHIVE, now, 'fixed000');
    await expect(again.archive([stored], 1)).rejects.toThrow(/exists already/);
  });

  it('purges nothing when the archive cannot be written, and logs the failure', async () => {
    const now = new Date();
    const e = event({ timestamp: new Date(now.getTime() - 8 * DAY_MS).toISOString() });
    await commit(env.DB, [storedAtArrival(e)]);
    // Mocked: a local R2 bucket cannot be made to fail on demand.
    vi.spyOn(env.ARCHIVE, 'put').mockRejectedValue(new Error('R2 is down'));
    const errors: Record<string, unknown>[] = [];
    vi.spyOn(console, 'error').mockImplementation((line: unknown) => errors.push(JSON.parse(String(line))));
    const controller = createScheduledController({ scheduledTime: now.getTime(), cron: '*/5 * * * *' });
    await expect(worker.scheduled(controller, env)).rejects.toThrow('R2 is down');
    expect(errors.find((l) => l.message === 'retention failed')).toMatchObject({ archived_events: 0 });
    expect(await getEvent(env.DB, { apiKeyId: e.api_key_id, eventId: e.event_id })).not.toBeNull();
  });

  it('archives nothing without the binding, and purges as before', async () => {
    const now = new Date();
    const e = event({ timestamp: new Date(now.getTime() - 8 * DAY_MS).toISOString() });
    await commit(env.DB, [storedAtArrival(e)]);
    const lines = await runScheduled(now, { ARCHIVE: undefined });
    expect(await getEvent(env.DB, { apiKeyId: e.api_key_id, eventId: e.event_id })).toBeNull();
    expect((await env.ARCHIVE.list({ prefix: `archive/${e.api_key_id}/` })).objects).toEqual([]);
    expect(lines.find((l) => l.message === 'retention')).not.toHaveProperty('archived_events');
  });
});
