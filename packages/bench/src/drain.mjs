// End to end: send N events through HTTP, then wait until the consumer has stored every accepted
// one (in D1 or the tenant stores: stored.mjs reads either), and count what was stored,
// dead-lettered, lost and duplicated.
import { load } from './load.mjs';
import { countSettled, rowsOfRun } from './stored.mjs';

/**
 * Waits until the store holds at least `count` settled rows (delivered or failed), so that a
 * measurement does not include the backlog of an earlier phase. Returns the seconds waited; throws
 * once `timeoutMs` has passed without them (a figure measured over a backlog would be wrong).
 */
export async function settle(state, count, timeoutMs = 600_000) {
  const started = Date.now();
  for (;;) {
    const settled = countSettled(state);
    process.stderr.write(`\r[bench] waiting for earlier phases to be stored: ${settled}/${count}   `);
    if (settled >= count) break;
    if (Date.now() - started > timeoutMs) {
      process.stderr.write('\n');
      throw new Error(
        `[bench] only ${settled} of ${count} events of earlier phases were stored within ${timeoutMs} ms: is the consumer running?`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  process.stderr.write('\n');
  return (Date.now() - started) / 1000;
}

/**
 * Sends `count` events and waits until the consumer has stored every accepted one; throws once
 * `timeoutMs` has passed since the last send with some still missing.
 */
export async function drain({
  url,
  headers,
  body: template,
  state,
  count,
  connections,
  timeoutMs = 300_000,
}) {
  // Every event of this phase carries the run's marker, so rows of earlier phases do not count and
  // an event stored twice (under two ids) would show as a duplicate.
  const marker = `e2e-${Date.now()}`;
  const marked = JSON.parse(template);
  marked.payload.run = marker;
  const body = JSON.stringify(marked);
  const accepted = new Set();
  const started = Date.now();
  const sending = await load({
    label: 'end to end',
    url: `${url}/events`,
    method: 'POST',
    headers,
    body,
    connections,
    amount: count,
    onResponse: (status, responseBody) => {
      if (status === 200) accepted.add(JSON.parse(responseBody).data.event_id);
    },
  });
  const sentAt = Date.now();

  let rows = [];
  let progress = -1;
  for (;;) {
    rows = rowsOfRun(state, marker);
    const settled = rows.filter((row) => accepted.has(row.event_id) && row.status !== 'pending').length;
    if (settled !== progress) {
      progress = settled;
      process.stderr.write(`\r[bench] end to end: ${settled}/${accepted.size} stored   `);
    }
    if (settled >= accepted.size) break;
    if (Date.now() - sentAt > timeoutMs) {
      process.stderr.write('\n');
      throw new Error(
        `[bench] end to end: only ${settled} of ${accepted.size} accepted events were stored within ${timeoutMs} ms of the last send`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  const doneAt = Date.now();
  process.stderr.write('\n');

  const seen = new Map();
  for (const row of rows) seen.set(row.event_id, (seen.get(row.event_id) ?? 0) + 1);
  const stored = rows.filter((row) => accepted.has(row.event_id) && row.status === 'delivered').length;
  const deadLettered = rows.filter((row) => accepted.has(row.event_id) && row.status === 'failed').length;
  const lost = [...accepted].filter((id) => !seen.has(id)).length;
  // A second row for one event, or a row for an event that was never accepted.
  const duplicated =
    [...seen.values()].reduce((sum, n) => sum + n - 1, 0) +
    rows.filter((row) => !accepted.has(row.event_id)).length;
  const total = (doneAt - started) / 1000;
  return {
    sent: count,
    connections,
    accepted: accepted.size,
    non2xx: sending.non2xx,
    send_seconds: Number(((sentAt - started) / 1000).toFixed(2)),
    drain_seconds: Number(((doneAt - sentAt) / 1000).toFixed(2)),
    total_seconds: Number(total.toFixed(2)),
    events_per_second: Math.round(stored / total),
    stored,
    dead_lettered: deadLettered,
    lost,
    duplicated,
  };
}
