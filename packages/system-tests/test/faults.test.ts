/**
 * The fault suite: thousands of events through the whole local system while the platform fails
 * where it can fail, then an audit of the store.
 *
 * - The ingest Worker's queue refuses 10 % of sends (injected through FAULTS, see packages/faults:
 *   the local queue cannot be made to refuse on demand).
 * - The consumer dies with 20 % of its event-queue batches in hand (injected the same way).
 * - The real local store refuses 2 % of event rows: a SQLite trigger in the test key's own tenant
 *   store (its object's file in this run's state) aborts them, failing the whole batch write they
 *   are in. No hook in the code.
 */
import { createClient } from '@triggers/client';
import { type System, startSystem } from '@triggers/tooling/system';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { openTenantStore } from '../src/tenant-store.ts';

/**
 * The long mode (`pnpm test:system:long`, TRIGGERS_LONG=1): 10,000 events instead of 3,000. CI
 * keeps the shorter run; the long one is for changes to the pipeline's failure handling.
 */
const LONG = process.env.TRIGGERS_LONG === '1';
const SINGLE_EVENTS = Number(process.env.FAULT_SINGLE_EVENTS ?? (LONG ? 7_000 : 2_000));
const BATCH_EVENTS = Number(process.env.FAULT_BATCH_EVENTS ?? (LONG ? 3_000 : 1_000));
const CONCURRENCY = 8;
const RUN = `faults-${Date.now()}`;
// The per-key rate limit is lifted: this suite sends thousands of requests with one key and tests
// the API's answers, not the limiter (its own tests do that).
const NO_RATE_LIMIT = 1_000_000;

let system: System;
let endStoreFault = () => {};
const accepted = new Map<number, string>(); // event number -> event_id
const refused = new Set<number>(); // event numbers answered 503
const otherStatuses: number[] = [];
const batchAccepted = new Map<number, string>();

beforeAll(async () => {
  system = await startSystem({
    rateLimit: NO_RATE_LIMIT,
    vars: { FAULTS: JSON.stringify({ queue_send: 0.1, consumer_batch_throw: 0.2 }) },
  });
  await openTenantStore(system, system.keys.test, system.keyIds.test);
  endStoreFault = system.tenantInsertFault(system.keyIds.test, 'store_fault', {
    when: 'abs(random() % 100) < 2',
    message: 'injected fault: store refused the write',
  });

  // Single events, each sent once: 503s are not retried, so they must never be stored.
  let next = 0;
  const worker = async () => {
    while (next < SINGLE_EVENTS) {
      const n = next++;
      const response = await fetch(`${system.url}/events`, {
        method: 'POST',
        headers: { authorization: `Bearer ${system.keys.test}`, 'content-type': 'application/json' },
        body: JSON.stringify({ payload: { run: RUN, phase: 'single', n } }),
      });
      const body = (await response.json()) as { data?: { event_id: string } };
      if (response.status === 200 && body.data) accepted.set(n, body.data.event_id);
      else if (response.status === 503) refused.add(n);
      else otherStatuses.push(response.status);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));

  // Batches through the typed client: it retries 503s with the same idempotency keys.
  const client = createClient({
    baseUrl: system.url,
    apiKey: system.keys.test,
    retry: { maxAttempts: 10, baseDelayMs: 50, maxDelayMs: 200 },
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, Math.min(ms, 200))),
  });
  const results = await client.events.sendBatch(
    Array.from({ length: BATCH_EVENTS }, (_, n) => ({
      payload: { run: RUN, phase: 'batch', n },
      idempotency_key: `${RUN}-${n}`,
    })),
  );
  results.forEach((result, n) => {
    if (result.status === 'accepted') batchAccepted.set(n, result.event_id);
  });

  // Let the store recover, then wait until every accepted event is settled; fail if they do not.
  endStoreFault();
  const expected = accepted.size + batchAccepted.size;
  await vi.waitFor(
    () => {
      const [row] = system.tenantQuery(
        system.keyIds.test,
        `SELECT count(*) AS n FROM events WHERE status != 'pending' AND json_extract(payload, '$.run') = '${RUN}'`,
      );
      const settled = Number(row?.n);
      if (settled < expected) throw new Error(`${settled} of the ${expected} accepted events have settled`);
    },
    { timeout: LONG ? 900_000 : 240_000, interval: 3_000 },
  );
}, 1_800_000);

afterAll(async () => {
  await system?.stop();
});

type Row = { event_id: string; status: string; attempts: number; phase: string; n: number };
const rows = (): Row[] =>
  system.tenantQuery(
    system.keyIds.test,
    `SELECT event_id, status, attempts, json_extract(payload, '$.phase') AS phase, json_extract(payload, '$.n') AS n
     FROM events WHERE json_extract(payload, '$.run') = '${RUN}'`,
  ) as Row[];

describe(`faults: ${SINGLE_EVENTS} single and ${BATCH_EVENTS} batched events while queue, consumer and store fail`, () => {
  it('injected every kind of fault', () => {
    const thrown = system.logs.filter((line) => line.message === 'batch failed').length;
    const storeFailures = system.logs.filter((line) =>
      String(line.reason ?? '').includes('store refused'),
    ).length;
    const batches = system.logs.filter((line) => line.message === 'batch').length;
    console.log(
      `${batches} batches, ${refused.size} sends refused, ${thrown} consumer batches thrown, ${storeFailures} messages failed by the store`,
    );
    expect({ refused: refused.size > 0, thrown: thrown > 0, storeFailures: storeFailures > 0 }).toEqual({
      refused: true,
      thrown: true,
      storeFailures: true,
    });
  });

  it('answered each single event 200 or 503, nothing else', () => {
    expect(otherStatuses).toEqual([]);
    expect(accepted.size + refused.size).toBe(SINGLE_EVENTS);
  });

  it('stored every event that got 200 exactly once, delivered or recorded as failed', () => {
    const byNumber = new Map(
      rows()
        .filter((row) => row.phase === 'single')
        .map((row) => [row.n, row]),
    );
    const missing = [...accepted].filter(([n, id]) => byNumber.get(n)?.event_id !== id);
    expect(missing).toEqual([]);
    for (const [n] of accepted) expect(['delivered', 'failed']).toContain(byNumber.get(n)?.status);
  });

  it('stored nothing of an event that got 503', () => {
    const stored = rows().filter((row) => row.phase === 'single' && refused.has(row.n));
    expect(stored).toEqual([]);
  });

  it('stored no duplicates, not even of batches the client had to resend', () => {
    const all = rows();
    expect(new Set(all.map((row) => `${row.phase}:${row.n}`)).size).toBe(all.length);
    expect(all.filter((row) => row.phase === 'single').length).toBe(accepted.size);
    expect(all.filter((row) => row.phase === 'batch').length).toBe(batchAccepted.size);
  });

  it('stored every batched event the client reports accepted under the id it was given', () => {
    expect(batchAccepted.size).toBe(BATCH_EVENTS);
    const byNumber = new Map(
      rows()
        .filter((row) => row.phase === 'batch')
        .map((row) => [row.n, row]),
    );
    const wrong = [...batchAccepted].filter(
      ([n, id]) => byNumber.get(n)?.event_id !== id || byNumber.get(n)?.status === 'pending',
    );
    expect(wrong).toEqual([]);
  });
});
