// @ts-check
// End to end through the batch path: N events of 1 KB sent with `POST /events/batch` (100 per
// request, a few requests in flight), timed until the consumer has stored every accepted one, with
// every accepted event_id checked to be stored exactly once, and the runtime's CPU and memory.
import { cpuMs } from './cpu.mjs';
import { load } from './load.mjs';
import { peakRss, runtimePids } from './proc.mjs';
import { countSettled, layoutOf, storedRows } from './stored.mjs';

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
 * Sends `count` events to `system` as key `key` (whose id is `apiKeyId`: a tenant with no events
 * yet), waits until every accepted one is stored, and counts lost and duplicated events. Throws
 * when `stallMs` pass with no event stored and some still missing.
 *
 * `system` is a started system of the tree under test (`url`, `pid` of its `wrangler dev`,
 * `persistTo` its state); CPU is the utime + stime of its workerd processes (both Workers, the
 * local queue and store run there) from the first send until all are stored, per stored event.
 *
 * @param {{
 *   system: { url: string, pid: number, persistTo: string },
 *   key: string,
 *   apiKeyId: string,
 *   count: number,
 *   batchSize?: number,
 *   connections?: number,
 *   eventBytes?: number,
 *   stallMs?: number,
 *   pollMs?: number,
 * }} options
 */
export async function batchEndToEnd({
  system,
  key,
  apiKeyId,
  count,
  batchSize = 100,
  connections = 8,
  eventBytes = 1024,
  stallMs = 120_000,
  pollMs = 500,
}) {
  if (count % batchSize !== 0) throw new Error(`--events must be a multiple of ${batchSize}, got ${count}`);
  /** @type {string[]} */
  const accepted = [];
  const before = cpuMs(system);
  const started = Date.now();
  const sending = await load({
    label: 'end to end, POST /events/batch',
    url: `${system.url}/events/batch`,
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: batchBody(batchSize, eventBytes),
    connections,
    amount: count / batchSize,
    onResponse: (/** @type {number} */ status, /** @type {string} */ responseBody) => {
      if (status !== 200) return;
      for (const item of JSON.parse(responseBody).data.results) {
        if (item.status === 'accepted') accepted.push(item.event_id);
      }
    },
  });
  const sentAt = Date.now();

  let settled = 0;
  let progressAt = sentAt;
  for (;;) {
    const now = countSettled(system.persistTo, apiKeyId);
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
  const after = cpuMs(system);
  process.stderr.write('\n');

  const rows = storedRows(system.persistTo, apiKeyId);
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
    layout: layoutOf(system.persistTo),
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
    peak_rss_bytes: runtimePids(system.pid).reduce((sum, pid) => sum + peakRss(pid), 0),
  };
}
