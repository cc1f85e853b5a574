/**
 * End to end: events POSTed over HTTP to the ingest Worker, through the real local
 * `event-queue`, stored in the key's own tenant store by the consumer Worker, both Workers in one
 * runtime (sharedSystem, with a key of its own: the counts below are this key's). Proves what
 * the store ends up holding, read back with SQL.
 */
import { EventAccepted, MAX_QUEUE_ATTEMPTS } from '@triggers/event-schema';
import { recentEventsSql, statusCountsSql } from '@triggers/event-store/inspect';
import { type LogLine, type System, sharedSystem } from '@triggers/tooling/system';
import * as v from 'valibot';
import { beforeAll, describe, expect, it, vi } from 'vitest';

/** How many ordinary events the main run sends. */
const N = 200;
/** Seen in every payload: must never appear in anything the Workers print. */
const MARKER = `e2e-payload-${crypto.randomUUID()}`;

let system: System<'test'>;
let startedAt: number;
const sent = { ordinary: [] as string[], processingError: '', dlqRouting: '' };

async function post(payload: object, debug?: string): Promise<string> {
  const response = await fetch(`${system.url}/events${debug ? `?debug=${debug}` : ''}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${system.keys.test}`, 'content-type': 'application/json' },
    body: JSON.stringify({ payload, metadata: { marker: MARKER } }),
  });
  expect(response.status).toBe(200);
  return v.parse(EventAccepted, await response.json()).data.event_id;
}

/** POSTs `payloads`, `concurrency` requests at a time, and answers their event ids in order. */
async function postAll(payloads: object[], concurrency = 20): Promise<string[]> {
  const ids: string[] = new Array(payloads.length);
  let next = 0;
  const worker = async () => {
    while (next < payloads.length) {
      const i = next++;
      ids[i] = await post(payloads[i] as object);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return ids;
}

type Row = Record<string, unknown>;

/**
 * Reads the store until `ok` holds of what `statements` answer, and answers that; at `timeoutMs`
 * it fails, saying it waited for `what` and what the store held last. Each read starts a
 * wrangler process, so once a second.
 */
function storeUntil(
  what: string,
  statements: string[],
  ok: (results: Row[][]) => boolean,
  timeoutMs: number,
): Promise<Row[][]> {
  return vi.waitFor(
    () => {
      const results = system.stored(statements);
      if (!ok(results)) {
        throw new Error(`waited for ${what}; the store holds ${JSON.stringify(results).slice(0, 500)}`);
      }
      return results;
    },
    { timeout: timeoutMs, interval: 1_000 },
  );
}

/** The row of `eventId` once it is `failed`, its last error naming its debug flag. */
async function failedRow(eventId: string): Promise<Row> {
  const [rows] = await storeUntil(
    `${eventId} to be failed`,
    [recentEventsSql({ eventIds: [eventId] })],
    ([r]) => r?.[0]?.status === 'failed',
    30_000,
  );
  expect(rows).toEqual([
    expect.objectContaining({
      status: 'failed',
      last_error: expect.stringMatching(/^(dlq_routing|processing_error):/),
    }),
  ]);
  return rows?.[0] as Row;
}

const failureOf = (eventId: string, attempt: number) => (logs: LogLine[]) =>
  logs.some((l) => l.message === 'message failed' && l.event_id === eventId && l.attempt === attempt);

beforeAll(async () => {
  const booting = Date.now();
  system = await sharedSystem({ keys: { test: { mode: 'test', name: 'pipeline e2e' } } });
  console.info(`e2e: runtime up in ${Date.now() - booting} ms`);
  startedAt = Date.now();
  [sent.processingError, sent.dlqRouting] = await Promise.all([
    post({ marker: MARKER, kind: 'processing_error' }, 'processing_error'),
    post({ marker: MARKER, kind: 'dlq_routing' }, 'dlq_routing'),
  ]);
  sent.ordinary = await postAll(Array.from({ length: N }, (_, i) => ({ marker: MARKER, i })));
  console.info(`e2e: ${N + 2} events POSTed in ${Date.now() - startedAt} ms`);
}, 150_000);

describe('the pipeline, end to end', () => {
  it(`stores ${N} events POSTed over HTTP as exactly ${N} delivered rows`, async () => {
    const [counts, tenant] = await storeUntil(
      `all ${N} events to be delivered`,
      [statusCountsSql({ eventIds: sent.ordinary }), statusCountsSql({ apiKeyId: system.keyIds.test })],
      ([c]) => c?.[0]?.status === 'delivered' && c[0].events === N,
      60_000,
    );
    expect(counts).toEqual([{ status: 'delivered', events: N, last_updated_at: expect.any(String) }]);
    // Nothing but these events and the two debug ones belongs to this key: no duplicates.
    const total = (tenant ?? []).reduce((sum, row) => sum + Number(row.events), 0);
    expect(total).toBe(N + 2);
    const lastStored = Date.parse(String(counts?.[0]?.last_updated_at));
    console.info(`e2e: all ${N} events stored ${lastStored - startedAt} ms after the first POST`);
  });

  it('records a dlq_routing event as failed after one attempt, without retrying it', async () => {
    expect(await failedRow(sent.dlqRouting)).toMatchObject({ attempts: 1, debug: 'dlq_routing' });
    expect(system.logs.some((l) => l.event_id === sent.dlqRouting && l.action === 'retry')).toBe(false);
  });

  it(`records a processing_error event as failed after ${MAX_QUEUE_ATTEMPTS} attempts, moved by the queue`, async () => {
    await system.waitForLogs(failureOf(sent.processingError, MAX_QUEUE_ATTEMPTS), 60_000);
    const row = await failedRow(sent.processingError);
    expect(row).toMatchObject({ attempts: MAX_QUEUE_ATTEMPTS, debug: 'processing_error' });
    const attempts = system.logs
      .filter((l) => l.event_id === sent.processingError && l.message === 'message failed')
      .map((l) => l.attempt);
    expect(attempts).toEqual([1, 2, 3, 4]);
    const failedAt = Date.parse(String(row.updated_at));
    console.info(`e2e: processing_error recorded failed ${failedAt - startedAt} ms after the first POST`);
  });

  it('retries a batch that the tenant store fails part-way through and stores every event of it once', async () => {
    // The fault is injected into this key's own store, not the code: a trigger in its object's
    // SQLite makes the batch's INSERT abort at the row that carries `inject_fault`, half-way
    // through the batch. The production code knows nothing of it.
    const endFault = system.tenantInsertFault(system.keyIds.test, 'e2e_fault', {
      when: "json_extract(NEW.payload, '$.inject_fault') = 1",
      message: 'injected store fault',
    });
    const payloads = Array.from({ length: 11 }, (_, i) => ({
      marker: MARKER,
      i,
      inject_fault: i === 5 ? 1 : 0,
    }));
    const ids = await postAll(payloads, 11);
    await system.waitForLogs(
      (logs) =>
        logs.some(
          (l) =>
            l.message === 'message failed' &&
            ids.includes(String(l.event_id)) &&
            String(l.reason).includes('injected store fault'),
        ),
      30_000,
    );
    endFault();

    const [counts, rows] = await storeUntil(
      `all ${ids.length} events of the faulted batch to be delivered`,
      [statusCountsSql({ eventIds: ids }), recentEventsSql({ eventIds: ids }, 100)],
      ([c]) => c?.[0]?.status === 'delivered' && c[0].events === ids.length,
      40_000,
    );
    expect(counts).toEqual([
      { status: 'delivered', events: ids.length, last_updated_at: expect.any(String) },
    ]);
    // Each was refused at least once before it was stored: the whole batch was retried.
    for (const row of rows ?? []) expect(row.attempts).toBeGreaterThanOrEqual(2);
    const retriedForTheFault = (logs: LogLine[]) =>
      new Set(
        logs
          .filter(
            (l) =>
              l.action === 'retry' &&
              ids.includes(String(l.event_id)) &&
              String(l.reason).includes('injected'),
          )
          .map((l) => l.event_id),
      );
    // Waited for, not read at once: `system.stored` blocks this process (a synchronous read) while the
    // Workers keep printing, so lines written meanwhile may still be in the pipe, unread.
    await vi.waitFor(() => expect(retriedForTheFault(system.logs).size).toBe(ids.length), {
      timeout: 10_000,
      interval: 100,
    });
  });

  it('never prints a payload', () => {
    expect(system.logs.length).toBeGreaterThan(N);
    expect(system.output()).not.toContain(MARKER);
  });
});
