/**
 * A tenant's events across day partitions (src/partitions.ts): one table per UTC day received,
 * kept_events, the events view; reads, writes and retention across them, and what each costs in
 * rows written.
 */
import { runInDurableObject } from 'cloudflare:test';
import type { QueuedEvent } from '@triggers/event-schema';
import { queuedEvent } from '@triggers/test-support/queued-event';
import { describe, expect, it } from 'vitest';
import {
  ackEvent,
  commit,
  createSubscription,
  DAY_TABLES_SQL,
  dayTable,
  eventStats,
  eventsTableSql,
  eventsViewSql,
  fanOut,
  getEvent,
  listEvents,
  migrateStore,
  purgeExpired,
  recordAttempt,
  recordFailed,
  recordRetry,
  replayEvent,
  type StoredEvent,
  storeDelivered,
  storedDays,
  TENANT_OPS,
  unackedIndexSql,
} from '../src/index.ts';
import { freshObject, inObject, objectDb } from './backends.ts';

const KEY = 'key_parts';
const at = (day: number, hour: number, second = 0) =>
  `2026-12-0${day}T${String(hour).padStart(2, '0')}:00:${String(second).padStart(2, '0')}.000Z`;
const event = (timestamp: string, extra: Partial<QueuedEvent> = {}) =>
  queuedEvent({ api_key_id: KEY, timestamp, ...extra });
const delivered = (db: D1Database, events: QueuedEvent[], now: Date) =>
  commit(db, [
    storeDelivered(
      db,
      events.map((e) => ({ event: e, attempts: 1 })),
      now,
    ),
  ]);

/** Where each event is stored: its table's name, from the object's own SQLite. */
async function tablesOf(stub: DurableObjectStub, ids: string[]): Promise<Record<string, string[]>> {
  return runInDurableObject(stub, (_: unknown, state: DurableObjectState) => {
    const tables = [
      'kept_events',
      ...state.storage.sql
        .exec<{ name: string }>(DAY_TABLES_SQL)
        .toArray()
        .map((r) => r.name),
    ];
    return Object.fromEntries(
      ids.map((id) => [
        id,
        tables.filter(
          (table) =>
            state.storage.sql.exec(`SELECT 1 FROM ${table} WHERE event_id = ?`, id).toArray().length > 0,
        ),
      ]),
    );
  });
}

describe('a tenant spanning three days', () => {
  const stub = freshObject();
  const db = objectDb(stub);
  // Two events a day on Dec 3, 4 and 5, oldest first.
  const events = [3, 4, 5].flatMap((day) => [event(at(day, 10)), event(at(day, 20))]);
  const ids = events.map((e) => e.event_id);
  const NOW = new Date(at(5, 21));

  it('stores each event in its day’s table, and finds each by id', async () => {
    await delivered(db, events, NOW);
    expect(await storedDays(db)).toEqual(['20261202', '20261203', '20261204', '20261205', '20261206']);
    const placed = await tablesOf(stub, ids);
    expect(Object.values(placed)).toEqual(
      ['20261203', '20261203', '20261204', '20261204', '20261205', '20261205'].map((day) => [dayTable(day)]),
    );
    for (const e of events) {
      expect(await getEvent(db, { apiKeyId: KEY, eventId: e.event_id })).toMatchObject({
        event_id: e.event_id,
        received_at: e.timestamp,
      });
    }
  });

  it('pages the inbox across the days with the cursor, newest first and oldest first, each event once', async () => {
    for (const order of ['desc', 'asc'] as const) {
      const seen: string[] = [];
      let after: { received_at: string; event_id: string } | undefined;
      let pages = 0;
      do {
        const page = await listEvents(db, { apiKeyId: KEY, order, limit: 4, ...(after ? { after } : {}) });
        seen.push(...page.events.map((e) => e.event_id));
        after = page.next ?? undefined;
        pages++;
      } while (after !== undefined && pages < 10);
      expect(pages).toBe(2);
      expect(seen).toEqual(order === 'asc' ? ids : [...ids].reverse());
    }
    // A range and a filter across days: Dec 4 from noon on, and Dec 5.
    const ranged = await listEvents(db, {
      apiKeyId: KEY,
      order: 'asc',
      limit: 10,
      from: at(4, 12),
      to: at(6, 0),
    });
    expect(ranged.events.map((e) => e.event_id)).toEqual(ids.slice(3));
    expect(ranged.next).toBeNull();
  });

  it('sums the days in the stats of the last day', async () => {
    const stats = await eventStats(db, KEY, NOW);
    // The last day is 22:00 on Dec 4 to 22:00 on Dec 5: the 20:00 event of Dec 4 is not in it.
    expect(stats.last_day).toMatchObject({ received: 2, delivered: 2 });
    const wider = await eventStats(db, KEY, new Date(at(4, 21)));
    expect(wider.last_day).toMatchObject({ received: 2, delivered: 2 });
    expect(stats.last_delivered_at).toBe(NOW.toISOString());
  });

  it('acks and replays events of each day where they are, and the unacknowledged inbox leaves them out', async () => {
    const [oldest, , middle, , newest] = ids;
    for (const id of [oldest, middle, newest]) {
      expect((await ackEvent(db, { apiKeyId: KEY, eventId: id ?? '' }, NOW)).acked).toBe(true);
    }
    const unacked = await listEvents(db, { apiKeyId: KEY, acked: false, order: 'asc', limit: 10 });
    expect(unacked.events.map((e) => e.event_id)).toEqual([ids[1], ids[3], ids[5]]);

    const failed = [event(at(3, 11)), event(at(5, 11))];
    await commit(db, [
      recordFailed(
        db,
        failed.map((e) => ({ event: e, attempts: 4, reason: 'dead' })),
        NOW,
      ),
    ]);
    for (const e of failed) {
      const replay = await replayEvent(db, { apiKeyId: KEY, eventId: e.event_id }, NOW);
      expect(replay).toMatchObject({ replayed: true, event: { status: 'pending', attempts: 0 } });
    }
    expect(
      Object.values(
        await tablesOf(
          stub,
          failed.map((e) => e.event_id),
        ),
      ),
    ).toEqual([[dayTable('20261203')], [dayTable('20261205')]]);
  });
});

describe('duplicates across days', () => {
  it('stores an event_id once when a copy arrives on the next day (an idempotency key’s retry), counting it a duplicate', async () => {
    const stub = freshObject();
    const db = objectDb(stub);
    const first = event('2026-12-04T23:59:30.000Z');
    const retry = { ...first, timestamp: '2026-12-05T00:00:10.000Z' };
    const [stored] = await delivered(db, [first], new Date(first.timestamp));
    const [again] = await delivered(db, [retry], new Date(retry.timestamp));
    expect([...stored]).toEqual([first.event_id]);
    expect(again.size).toBe(0);
    expect(await tablesOf(stub, [first.event_id])).toEqual({ [first.event_id]: [dayTable('20261204')] });
    // Another body under the same id the day after: a conflict, counted on the stored row.
    await delivered(db, [{ ...retry, payload: { other: true } }], new Date(retry.timestamp));
    expect(await getEvent(db, { apiKeyId: KEY, eventId: first.event_id })).toMatchObject({
      received_at: first.timestamp,
      idempotency_conflicts: 1,
      payload: first.payload,
    });
  });

  it('moves a pending copy on the day before to delivered, rather than storing a second row', async () => {
    const stub = freshObject();
    const db = objectDb(stub);
    const first = event('2026-12-04T12:00:00.000Z');
    const later = { ...first, timestamp: '2026-12-05T06:00:00.000Z' };
    await commit(db, [recordRetry(db, [{ event: first, attempts: 1, error: 'x' }], new Date())]);
    const [stored] = await delivered(db, [later], new Date('2026-12-05T06:00:01.000Z'));
    expect([...stored]).toEqual([first.event_id]);
    expect(await getEvent(db, { apiKeyId: KEY, eventId: first.event_id })).toMatchObject({
      status: 'delivered',
      received_at: first.timestamp,
      last_error: 'x',
    });
    expect(await tablesOf(stub, [first.event_id])).toEqual({ [first.event_id]: [dayTable('20261204')] });
  });
});

describe('retention by whole days', () => {
  it('drops an expired day’s table, keeping its failed event and its event with a pending delivery in kept_events, readable by id, and archives the rest', async () => {
    const stub = freshObject();
    const db = objectDb(stub);
    const day = '2026-11-20';
    const NOW = new Date('2026-12-05T12:00:00.000Z');
    const gone = [event(`${day}T01:00:00.000Z`), event(`${day}T02:00:00.000Z`)];
    const failed = event(`${day}T03:00:00.000Z`);
    const webhooked = event(`${day}T04:00:00.000Z`);
    const stored = new Date(`${day}T05:00:00.000Z`);
    await commit(db, [
      storeDelivered(
        db,
        [...gone, webhooked].map((e) => ({ event: e, attempts: 1 })),
        stored,
      ),
      recordFailed(db, [{ event: failed, attempts: 4, reason: 'dead' }], stored),
    ]);
    // A subscription whose delivery of `webhooked` is still pending (an attempt failed, more to come).
    await createSubscription(
      db,
      {
        apiKeyId: KEY,
        id: 'sub_000000000000000000000001',
        url: 'https://hooks.example.com/',
        eventTypes: null,
        secret: 'whsec_AAAA',
      },
      stored,
      10,
    );
    const [message] = await fanOut(db, KEY, [webhooked.event_id], stored);
    await recordAttempt(
      db,
      {
        apiKeyId: KEY,
        deliveryId: message?.delivery_id ?? '',
        subscriptionId: null,
        round: 1,
        attempt: 1,
        attemptedAt: stored,
        httpStatus: 500,
        error: null,
        latencyMs: 5,
        responseExcerpt: null,
        status: 'pending',
        nextAttemptAt: NOW,
        disableAfter: 100,
      },
      stored,
    );
    const archived: StoredEvent[] = [];
    const result = await purgeExpired(db, NOW, undefined, async (events) => {
      archived.push(...events);
      return events;
    });
    expect(result).toMatchObject({ complete: true, delivered: 2, failed: 0, kept: 2 });
    const tables = await runInDurableObject(stub, (_: unknown, state: DurableObjectState) =>
      state.storage.sql
        .exec<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'events%'")
        .toArray()
        .map((r) => r.name),
    );
    expect(tables).toEqual([]);
    expect(archived.map((e) => e.event_id)).toEqual(gone.map((e) => e.event_id));
    const placed = await tablesOf(stub, [failed.event_id, webhooked.event_id]);
    expect(placed).toEqual({ [failed.event_id]: ['kept_events'], [webhooked.event_id]: ['kept_events'] });
    expect(await getEvent(db, { apiKeyId: KEY, eventId: failed.event_id })).toMatchObject({
      status: 'failed',
    });
    expect(await getEvent(db, { apiKeyId: KEY, eventId: webhooked.event_id })).toMatchObject({
      status: 'delivered',
    });
    for (const e of gone) expect(await getEvent(db, { apiKeyId: KEY, eventId: e.event_id })).toBeNull();
    // The inbox still lists what was kept, in its place.
    const page = await listEvents(db, { apiKeyId: KEY, order: 'asc', limit: 10 });
    expect(page.events.map((e) => e.event_id)).toEqual([failed.event_id, webhooked.event_id]);
  });
});

describe('rows written per event', () => {
  /** meta.rows_written summed over a batch's statements. */
  const written = (results: D1Result[]) => results.reduce((sum, r) => sum + r.meta.rows_written, 0);

  /**
   * Rows written per event by each write of a day's events, in a fresh object whose events
   * tables have the unacknowledged view's index when `unackedIndexed` (as once its tenant read it).
   */
  const measure = (unackedIndexed: boolean) =>
    inObject(freshObject(), async (db) => {
      const run = async (statements: readonly D1PreparedStatement[]) =>
        written(await db.batch([...statements]));
      const days = ['20261109', '20261110', '20261111'];
      const tableSql = (table: string) => [
        ...eventsTableSql(table),
        ...(unackedIndexed ? [unackedIndexSql(table)] : []),
      ];
      // What a day's first write makes (its table and its neighbours'), once a day: apart.
      const tables = await run(
        [
          ...days.flatMap((d) => tableSql(dayTable(d))),
          ...(unackedIndexed ? [unackedIndexSql('kept_events')] : []),
          ...eventsViewSql(days),
        ].map((sql) => db.prepare(sql)),
      );
      const at = new Date('2026-11-10T12:00:00.000Z');
      const batch = () =>
        Array.from({ length: 100 }, () => ({ event: event(at.toISOString()), attempts: 1 }));
      const stored = batch();
      const pending = batch();
      const insert = await run(storeDelivered(db, stored, at).statements);
      const duplicate = await run(storeDelivered(db, stored, at).statements);
      const retryInsert = await run(
        recordRetry(
          db,
          pending.map((p) => ({ ...p, error: 'x' })),
          at,
        ).statements,
      );
      const statusChange = await run(storeDelivered(db, pending, at).statements);
      // ackEvent's UPDATE on the table that holds the event (it probes the others, writing nothing there).
      let ack = 0;
      for (const { event: e } of stored) {
        ack += await run([
          db
            .prepare(
              `UPDATE ${dayTable('20261110')} SET acked_at = ?1, updated_at = ?1
               WHERE event_id = ?2 AND acked_at IS NULL AND status <> 'pending'`,
            )
            .bind(at.toISOString(), e.event_id),
        ]);
      }
      // Retention's drop of the day (200 events) and the view's rebuild without it.
      const drop = await run(
        [
          'DROP VIEW IF EXISTS events',
          `DROP TABLE ${dayTable('20261110')}`,
          ...eventsViewSql(['20261109', '20261111']),
        ].map((sql) => db.prepare(sql)),
      );
      return {
        insert: insert / 100,
        duplicate: duplicate / 100,
        retryInsert: retryInsert / 100,
        statusChange: statusChange / 100,
        ack: ack / 100,
        dropOfADay: drop,
        tablesOfADay: tables,
      };
    });

  it('insert 3, duplicate 0, status change 1, ack 1, expiry by a dropped day 0: 2 schema rows a day, whatever its size', async () => {
    const figures = await measure(false);
    // Measured. A new event: its row, its UNIQUE (event_id) entry and its (received_at,
    // event_id) entry. A status change or an ack touches no index. Dropping a day of 200 events
    // writes none of them: 2 rows, the view's rebuild. Making a day's tables (and its two
    // neighbours', and the view) writes a few schema rows, once a day.
    expect(figures).toEqual({
      insert: 3,
      duplicate: 0,
      retryInsert: 3,
      statusChange: 1,
      ack: 1,
      dropOfADay: 2,
      tablesOfADay: 14,
    });
  });

  it('with the unacknowledged view indexed (once its tenant read it): insert 4, status change 1, ack 1', async () => {
    const { insert, statusChange, ack } = await measure(true);
    // Measured: the index's entry is one more row written when an event is stored; the ack that
    // takes it out is counted as the row's one update, and a status change leaves it.
    expect({ insert, statusChange, ack }).toEqual({ insert: 4, statusChange: 1, ack: 1 });
  });
});

describe('an object of the layout before the day partitions', () => {
  it('moves its events table into day tables on start, keeping every row and its deliveries', async () => {
    const stub = freshObject();
    const ids = await runInDurableObject(stub, (_: unknown, state: DurableObjectState) => {
      const sql = state.storage.sql;
      // Back to main's layout: the D1 migrations' events table, recorded as applied.
      state.storage.transactionSync(() => {
        for (const { name } of sql
          .exec<{ name: string }>(
            "SELECT name FROM sqlite_master WHERE type IN ('table', 'view') AND name LIKE 'events%' OR name = 'kept_events'",
          )
          .toArray()) {
          sql.exec(name === 'events' ? 'DROP VIEW events' : `DROP TABLE ${name}`);
        }
        sql.exec(`CREATE TABLE events (event_id TEXT PRIMARY KEY NOT NULL, api_key_id TEXT NOT NULL, payload TEXT NOT NULL,
          metadata TEXT, status TEXT NOT NULL, attempts INTEGER NOT NULL, last_error TEXT, received_at TEXT NOT NULL,
          created_at TEXT NOT NULL, updated_at TEXT NOT NULL, correlation_id TEXT NOT NULL, debug TEXT, acked_at TEXT,
          type TEXT NOT NULL DEFAULT 'triggers.event', source TEXT NOT NULL DEFAULT '', subject TEXT, cloudevent TEXT,
          idempotency_conflicts INTEGER NOT NULL DEFAULT 0)`);
        sql.exec('DROP TABLE retention_progress');
        sql.exec('DROP TABLE retention_late');
        sql.exec('DROP TABLE event_claims');
        sql.exec('DROP TABLE counted_outcomes');
        sql.exec('DELETE FROM store_migrations');
        // What such an object recorded: the D1 migrations but the D1-only register's.
        for (const name of [
          '0007_signing_secrets.sql',
          '0008_subscription_filters.sql',
          '0010_subscription_disabled_at.sql',
        ]) {
          sql.exec('INSERT INTO store_migrations VALUES (?, ?)', name, '2026-12-01T00:00:00.000Z');
        }
        for (const [i, day] of ['2026-12-01', '2026-12-01', '2026-12-03'].entries()) {
          sql.exec(
            `INSERT INTO events (event_id, api_key_id, payload, status, attempts, received_at, created_at, updated_at, correlation_id, source)
             VALUES (?, ?, '{}', 'delivered', 1, ?, ?, ?, 'c', 's')`,
            `evt_${i}`,
            KEY,
            `${day}T0${i}:00:00.000Z`,
            `${day}T0${i}:00:00.000Z`,
            `${day}T0${i}:00:00.000Z`,
          );
        }
      });
      migrateStore(state.storage);
      return ['evt_0', 'evt_1', 'evt_2'];
    });
    expect(await tablesOf(stub, ids)).toEqual({
      evt_0: [dayTable('20261201')],
      evt_1: [dayTable('20261201')],
      evt_2: [dayTable('20261203')],
    });
    const db = objectDb(stub);
    expect(await TENANT_OPS.storeCounts(db)).toMatchObject({ events: 3 });
    expect((await getEvent(db, { apiKeyId: KEY, eventId: 'evt_2' }))?.status).toBe('delivered');
  });
});

/**
 * Edge cases found in review, each once a failing test: the inbox's byte budget at a day's end,
 * idempotency conflicts (redeliveries, copies in one batch, a reused id on a pending row), two
 * kept copies of one event_id, and a migration page imported again after retention.
 */
describe('edges across partitions', () => {
  it("gives a next cursor when a page's byte budget runs out exactly at the end of a day, so older days stay reachable", async () => {
    await inObject(freshObject(), async (db) => {
      // Payload {"p":"xxxx..."}: 100 bytes each, metadata none.
      const payload = { p: 'x'.repeat(92) };
      const e1 = event('2026-12-01T10:00:00.000Z', { payload, metadata: undefined });
      const e2 = event('2026-12-02T10:00:00.000Z', { payload, metadata: undefined });
      await delivered(db, [e1, e2], new Date('2026-12-02T12:00:00.000Z'));
      const all = await listEvents(db, { apiKeyId: KEY, order: 'desc', limit: 10 });
      expect(all.events.map((e) => e.event_id)).toEqual([e2.event_id, e1.event_id]);
      // A page of at most 100 bytes: e2 alone fills it; e1 must be reachable through next.
      const first = await listEvents(db, { apiKeyId: KEY, order: 'desc', limit: 10, maxBytes: 100 });
      expect(first.events.map((e) => e.event_id)).toEqual([e2.event_id]);
      expect(first.next).not.toBeNull();
    });
  });

  it('counts no idempotency conflict for a true redelivery whose payload is a string, null or a boolean', async () => {
    await inObject(freshObject(), async (db) => {
      const at = '2026-12-01T10:00:00.000Z';
      const seen: unknown[] = [];
      for (const payload of ['<xml/>', null, true] as const) {
        const e = event(at, { payload });
        await delivered(db, [e], new Date(at));
        await delivered(db, [e], new Date(at)); // the very same message again
        seen.push({
          payload,
          conflicts: (await getEvent(db, { apiKeyId: KEY, eventId: e.event_id }))?.idempotency_conflicts,
        });
      }
      expect(seen).toEqual([
        { payload: '<xml/>', conflicts: 0 },
        { payload: null, conflicts: 0 },
        { payload: true, conflicts: 0 },
      ]);
    });
  });

  it('keeps the first of two copies of one event_id stored on days that do not touch, and retention runs on', async () => {
    await inObject(freshObject(), async (db) => {
      const id = crypto.randomUUID();
      const first = event('2026-12-01T10:00:00.000Z', { event_id: id });
      const again = event('2026-12-03T11:00:00.000Z', { event_id: id }); // same idempotency key, 49 h later
      const dead = (e: QueuedEvent, now: string) =>
        commit(db, [recordFailed(db, [{ event: e, attempts: 3, reason: 'boom' }], new Date(now))]);
      await dead(first, '2026-12-01T10:05:00.000Z');
      await dead(again, '2026-12-03T11:05:00.000Z');
      // 12 days later: both days are past the 7-day age, both copies failed and unacked (30 days).
      let error: unknown = null;
      try {
        await purgeExpired(db, new Date('2026-12-12T00:00:00.000Z'));
      } catch (e) {
        error = e;
      }
      expect(String(error)).toBe('null');
      const kept = await getEvent(db, { apiKeyId: KEY, eventId: id });
      expect(kept?.received_at).toBe('2026-12-01T10:00:00.000Z');
    });
  });

  it('changes nothing of a pending event but its conflict count when a message reuses its id with another payload', async () => {
    await inObject(freshObject(), async (db) => {
      const at = '2026-12-01T10:00:00.000Z';
      const a = event(at, { payload: { first: true } });
      await commit(db, [recordRetry(db, [{ event: a, attempts: 1, error: 'store down' }], new Date(at))]);
      const b = { ...a, payload: { second: true } }; // same idempotency key, other payload
      const [stored] = await delivered(db, [b], new Date('2026-12-01T10:01:00.000Z'));
      const row = await getEvent(db, { apiKeyId: KEY, eventId: a.event_id });
      expect({
        stored: [...stored],
        status: row?.status,
        conflicts: row?.idempotency_conflicts,
        payload: row?.payload,
      }).toEqual({ stored: [], status: 'pending', conflicts: 1, payload: { first: true } });
    });
  });

  it('counts the conflict of two messages of one event_id with different payloads in one batch, keeping the first', async () => {
    await inObject(freshObject(), async (db) => {
      const at = '2026-12-01T10:00:00.000Z';
      const a = event(at, { payload: { amount: 10 } });
      const b = { ...a, payload: { amount: 99 } };
      await delivered(db, [a, b], new Date(at));
      const row = await getEvent(db, { apiKeyId: KEY, eventId: a.event_id });
      expect({ payload: row?.payload, conflicts: row?.idempotency_conflicts }).toEqual({
        payload: { amount: 10 },
        conflicts: 1,
      });
    });
  });

  it('imports a page again as nothing after retention moved its event to kept_events and dropped its day', async () => {
    await inObject(freshObject(), async (db) => {
      const row = {
        received_at: '2026-12-01T10:00:00.000Z',
        event_id: crypto.randomUUID(),
        api_key_id: KEY,
        payload: '{"a":1}',
        metadata: null,
        status: 'pending',
        attempts: 1,
        last_error: null,
        created_at: '2026-12-01T10:00:00.000Z',
        updated_at: '2026-12-01T10:00:00.000Z',
        correlation_id: 'c',
        debug: null,
        acked_at: null,
        type: 'triggers.event',
        source: '/x',
        subject: null,
        cloudevent: null,
        idempotency_conflicts: 0,
      };
      expect((await TENANT_OPS.importRows(db, { events: [row] })).events).toBe(1);
      await purgeExpired(db, new Date('2026-12-10T00:00:00.000Z')); // pending: kept
      expect((await TENANT_OPS.importRows(db, { events: [row] })).events).toBe(0); // "writes nothing the second time"
    });
  });
});
