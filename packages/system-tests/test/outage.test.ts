/**
 * A store outage loses nothing: the test key's real tenant store refuses every write to `events` (a
 * SQLite trigger in its object's file in this run's state, no hook in the code) while events are sent, for longer than
 * event-queue's retries last, so every message moves to event-dlq and waits there; then the store
 * recovers. Every accepted event must end stored exactly once, nothing accepted may be missing.
 * How long the queues hold out: docs/operations.md, "After a store outage".
 */
import { createClient } from '@triggers/client';
import { type System, startSystem } from '@triggers/tooling/system';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { openTenantStore } from '../src/tenant-store.ts';

const EVENTS = Number(process.env.OUTAGE_EVENTS ?? 500);
/**
 * The store stays down until event-dlq itself has failed to record them (longer than event-queue's
 * 4 attempts: 2 + 4 + 8 s of backoff plus the harness's batch waits), at most this long.
 */
const MAX_OUTAGE_MS = 240_000;
const RUN = `outage-${Date.now()}`;

let system: System;
let endOutage = () => {};
const accepted = new Map<number, string>();
let storedDuringOutage = -1;
let outageMs = 0;

beforeAll(async () => {
  system = await startSystem({ rateLimit: 1_000_000 });
  await openTenantStore(system, system.keys.test, system.keyIds.test);
  endOutage = system.tenantInsertFault(system.keyIds.test, 'store_down', {
    message: 'injected outage: the store refuses every write',
  });
  const startedAt = Date.now();
  const client = createClient({ baseUrl: system.url, apiKey: system.keys.test });
  const results = await client.events.sendBatch(
    Array.from({ length: EVENTS }, (_, n) => ({ payload: { run: RUN, n }, idempotency_key: `${RUN}-${n}` })),
  );
  results.forEach((result, n) => {
    if (result.status === 'accepted') accepted.set(n, result.event_id);
  });
  await system.waitForLogs(
    (logs) =>
      logs.some(
        (line) =>
          line.queue === 'event-dlq' &&
          line.action === 'retry' &&
          String(line.reason).includes('injected outage'),
      ),
    MAX_OUTAGE_MS,
  );
  outageMs = Date.now() - startedAt;
  const [row] = system.tenantQuery(system.keyIds.test, 'SELECT count(*) AS n FROM events');
  storedDuringOutage = Number(row?.n);
  endOutage();

  await vi.waitFor(
    () => {
      const [settled] = system.tenantQuery(
        system.keyIds.test,
        `SELECT count(*) AS n FROM events WHERE status != 'pending' AND json_extract(payload, '$.run') = '${RUN}'`,
      );
      if (Number(settled?.n) < accepted.size) throw new Error(`${settled?.n} of ${accepted.size} settled`);
    },
    { timeout: 300_000, interval: 3_000 },
  );
}, 600_000);

afterAll(async () => {
  await system?.stop();
});

describe(`store outage: ${EVENTS} events sent while the tenant store refuses every write, until event-dlq fails too`, () => {
  it('accepted every event (sending does not touch the store) and stored none during the outage', () => {
    console.log(`the store refused every write for ${Math.round(outageMs / 1000)} s`);
    expect(accepted.size).toBe(EVENTS);
    expect(storedDuringOutage).toBe(0);
  });

  it('moved the messages to event-dlq while the store was down, and retried there', () => {
    const failures = system.logs.filter((line) => String(line.reason ?? '').includes('injected outage'));
    expect(failures.some((line) => line.queue === 'event-queue' && line.action === 'dead_letter')).toBe(true);
    expect(failures.some((line) => line.queue === 'event-dlq' && line.action === 'retry')).toBe(true);
    expect(failures.some((line) => line.action === 'dropped')).toBe(false);
  });

  it('stored every accepted event exactly once after the store recovered, under its event_id', () => {
    const rows = system.tenantQuery(
      system.keyIds.test,
      `SELECT event_id, status, json_extract(payload, '$.n') AS n FROM events
       WHERE json_extract(payload, '$.run') = '${RUN}'`,
    );
    expect(rows.length).toBe(accepted.size);
    const byNumber = new Map(rows.map((row) => [Number(row.n), row]));
    const wrong = [...accepted].filter(([n, id]) => byNumber.get(n)?.event_id !== id);
    expect(wrong).toEqual([]);
    expect(rows.every((row) => row.status === 'failed' || row.status === 'delivered')).toBe(true);
  });
});
