// @ts-check
// Webhook delivery benchmark (issue 11), a phase of its own: the whole local system (startSystem)
// delivering to a local receiver that answers 204 at once. Reports deliveries per second and the
// delay from accept (the event's timestamp) to arrival at the receiver, p50/p99.
// Usage: node src/webhooks.mjs [--events N]   (default 1000)
import { startSystem } from '@triggers/tooling/system';
import { startReceiver } from '@triggers/tooling/webhook';

const arg = process.argv.indexOf('--events');
const EVENTS = arg === -1 ? 1_000 : Number(process.argv[arg + 1]);

/** @param {number[]} sorted @param {number} q */
const quantile = (sorted, q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;

const receiver = await startReceiver();
const system = await startSystem({ keys: { bench: { mode: 'test', name: 'bench' } }, rateLimit: 1_000_000 });
try {
  const headers = { authorization: `Bearer ${system.keys.bench}`, 'content-type': 'application/json' };
  const sub = await fetch(`${system.url}/subscriptions`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ url: `${receiver.url}/` }),
  });
  if (sub.status !== 201) throw new Error(`subscription: ${sub.status} ${await sub.text()}`);
  for (let sent = 0; sent < EVENTS; sent += 100) {
    const events = Array.from({ length: Math.min(100, EVENTS - sent) }, (_, i) => ({
      type: 'bench.event',
      payload: { n: sent + i },
    }));
    const response = await fetch(`${system.url}/events/batch`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ events }),
    });
    if (response.status !== 200) throw new Error(`batch: ${response.status}`);
  }
  await receiver.waitFor(EVENTS, 300_000);
  const arrivals = receiver.received.map((r) => r.at);
  const delays = receiver.received
    .map((r) => r.at - Date.parse(JSON.parse(r.body).timestamp))
    .sort((a, b) => a - b);
  const span = (Math.max(...arrivals) - Math.min(...arrivals)) / 1000;
  const result = {
    events: EVENTS,
    deliveries: receiver.received.length,
    deliveries_per_second: Math.round(EVENTS / Math.max(span, 0.001)),
    accept_to_delivery_ms: { p50: quantile(delays, 0.5), p99: quantile(delays, 0.99), max: delays.at(-1) },
  };
  console.log(JSON.stringify(result, null, 2));
  console.log(
    `Webhooks: ${result.deliveries} deliveries to a local receiver at ${result.deliveries_per_second}/s; ` +
      `accept to delivery p50 ${result.accept_to_delivery_ms.p50} ms, p99 ${result.accept_to_delivery_ms.p99} ms ` +
      '(the event-queue batch timeout, 1 s in the harness, is part of it).',
  );
} finally {
  await system.stop();
  await receiver.stop();
}
