// @ts-check
// End to end through the batch path: N events of 1 KB sent with `POST /events/batch` (100 per
// request, a few requests in flight), timed until the consumer has stored every accepted one, with
// every accepted event_id checked to be stored exactly once, and the runtime's CPU and memory.
import { cpuMs } from './cpu.mjs';
import { load } from './load.mjs';
import { peakRss, runtimePids } from './proc.mjs';
import { countFloorStored, countSettled, floorRows, layoutOf, storedRows } from './stored.mjs';

/**
 * A `POST /events/batch` body of `size` events of `bytes` bytes each (as `POST /events` bodies).
 * @param {number} size
 * @param {number} bytes
 */
export function batchBody(size, bytes) {
  const empty = JSON.stringify({ payload: { type: 'bench.event', data: '' } });
  const event = { payload: { type: 'bench.event', data: 'x'.repeat(bytes - empty.length) } };
  return JSON.stringify({ events: Array.from({ length: size }, () => event) });
}

/**
 * What the phase drives and reads: where to POST the batches (`url`, with `headers`), the
 * processes serving it (`server`: its `wrangler dev`), and how many of the run's events are
 * stored, their rows and what holds them (the report's "store"), read from its local state.
 * @typedef {{
 *   url: string,
 *   headers: Record<string, string>,
 *   server: { pid: number },
 *   countStored: () => number,
 *   rows: () => { event_id: string, status?: string }[],
 *   layout: () => string,
 * }} BatchTarget
 */

/**
 * A started system of a tree under test (`url`, `pid` of its `wrangler dev`, `persistTo` its
 * state) as a {@link BatchTarget}: `POST /events/batch` as key `key`, whose id is `apiKeyId` (a
 * tenant with no events yet); an event counts once settled (delivered or failed).
 * @param {{ url: string, pid: number, persistTo: string }} system
 * @param {string} key
 * @param {string} apiKeyId
 * @returns {BatchTarget}
 */
export const systemTarget = (system, key, apiKeyId) => ({
  url: `${system.url}/events/batch`,
  headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
  server: system,
  countStored: () => countSettled(system.persistTo, apiKeyId),
  rows: () => storedRows(system.persistTo, apiKeyId),
  layout: () => layoutOf(system.persistTo),
});

/**
 * The batch durable floor (packages/bench/floor, `POST /batch`) started with its state in
 * `persistTo`, as a {@link BatchTarget}.
 * @param {{ url: string, pid: number }} floor
 * @param {string} persistTo
 * @returns {BatchTarget}
 */
export const floorTarget = (floor, persistTo) => ({
  url: `${floor.url}/batch`,
  headers: { 'content-type': 'application/json' },
  server: floor,
  countStored: () => countFloorStored(persistTo),
  rows: () => floorRows(persistTo),
  layout: () => 'floor object',
});

/**
 * Sends `count` events to `target` (whose store holds none yet), waits until every accepted one
 * is stored, and counts lost and duplicated events. Throws when `stallMs` pass with no event
 * stored and some still missing.
 *
 * CPU is the utime + stime of the target's workerd processes (its Workers, the local queue and
 * store run there) from the first send until all are stored, per stored event.
 *
 * @param {{
 *   target: BatchTarget,
 *   count: number,
 *   batchSize?: number,
 *   connections?: number,
 *   eventBytes?: number,
 *   stallMs?: number,
 *   pollMs?: number,
 * }} options
 */
export async function batchEndToEnd({
  target,
  count,
  batchSize = 100,
  connections = 8,
  eventBytes = 1024,
  stallMs = 120_000,
  pollMs = 200,
}) {
  if (count % batchSize !== 0) throw new Error(`--events must be a multiple of ${batchSize}, got ${count}`);
  /** @type {string[]} */
  const accepted = [];
  const before = cpuMs(target.server);
  const started = Date.now();
  // When the last answer came: the load run itself ends up to a sampling interval later.
  let lastAnswerAt = started;
  const sending = await load({
    label: 'end to end, POST /events/batch',
    url: target.url,
    method: 'POST',
    headers: target.headers,
    body: batchBody(batchSize, eventBytes),
    connections,
    amount: count / batchSize,
    onResponse: (/** @type {number} */ status, /** @type {string} */ responseBody) => {
      lastAnswerAt = Date.now();
      if (status !== 200) return;
      for (const item of JSON.parse(responseBody).data.results) {
        if (item.status === 'accepted') accepted.push(item.event_id);
      }
    },
  });
  const sentAt = lastAnswerAt;

  let settled = 0;
  let progressAt = sentAt;
  for (;;) {
    const now = target.countStored();
    if (now !== settled) {
      settled = now;
      progressAt = Date.now();
      process.stderr.write(`\r[bench] end to end (batch): ${settled}/${accepted.length} stored   `);
    }
    if (settled >= accepted.length) break;
    if (Date.now() - progressAt > stallMs) {
      process.stderr.write('\n');
      throw new Error(
        `[bench] end to end (batch): ${settled} of ${accepted.length} accepted events stored, none more within ${stallMs} ms`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
  const doneAt = Date.now();
  const after = cpuMs(target.server);
  process.stderr.write('\n');

  const rows = target.rows();
  const acceptedIds = new Set(accepted);
  /** @type {Map<string, number>} */
  const seen = new Map();
  for (const row of rows) seen.set(row.event_id, (seen.get(row.event_id) ?? 0) + 1);
  const stored = [...seen.keys()].filter((id) => acceptedIds.has(id)).length;
  const lost = accepted.length - stored;
  // A second row for one event (in two stores, or accepted twice), or a row never accepted.
  const duplicated =
    [...seen.values()].reduce((sum, n) => sum + n - 1, 0) +
    [...seen.keys()].filter((id) => !acceptedIds.has(id)).length +
    (accepted.length - acceptedIds.size);
  const seconds = (doneAt - started) / 1000;
  const runtimeCpu = after.runtime - before.runtime;
  return {
    layout: target.layout(),
    sent: count,
    requests: sending.requests,
    batch_size: batchSize,
    connections,
    accepted: accepted.length,
    non2xx: sending.non2xx,
    errors: sending.errors,
    accepted_in_seconds: Number(((sentAt - started) / 1000).toFixed(2)),
    all_stored_seconds: Number(seconds.toFixed(2)),
    events_per_second: Math.round(stored / seconds),
    stored,
    dead_lettered: rows.filter((row) => acceptedIds.has(row.event_id) && row.status === 'failed').length,
    lost,
    duplicated,
    workerd_cpu_ms_per_event: Number((runtimeCpu / Math.max(1, stored)).toFixed(3)),
    total_cpu_ms_per_event: Number(((after.total - before.total) / Math.max(1, stored)).toFixed(3)),
    // VmHWM of the workerd processes: since the system started, so the phase's peak when it runs
    // on a system of its own (as every A/B repetition does).
    peak_rss_bytes: runtimePids(target.server.pid).reduce((sum, pid) => sum + peakRss(pid), 0),
  };
}
