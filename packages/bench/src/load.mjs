// One load run with autocannon, reduced to the figures the report needs.
import autocannon from 'autocannon';

/** The value at quantile `q` (0..1) of ascending `sorted`, nearest-rank. */
export function quantile(sorted, q) {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

const round = (value) => Math.round(value * 10) / 10;

/** autocannon's sampling interval, in milliseconds: how late after its last answer a run ends. */
const SAMPLE_MS = 100;

/**
 * Drives `url` with `connections` concurrent clients for `duration` seconds (or until `amount`
 * requests), printing a progress line every second. Latencies are collected per response so that
 * p95 is exact (autocannon's own summary has no p95).
 *
 * @returns {Promise<{ label: string, connections: number, requests: number, ok: number, non2xx: number, errors: number, seconds: number, rps: number, p50: number, p95: number, p99: number, max: number }>}
 */
export function load({
  label,
  url,
  method = 'POST',
  headers = {},
  body,
  connections,
  duration,
  amount,
  onResponse,
}) {
  return new Promise((resolve, reject) => {
    const latencies = [];
    let ok = 0;
    let non2xx = 0;
    const started = Date.now();
    const instance = autocannon(
      {
        url,
        connections,
        pipelining: 1,
        ...(amount ? { amount } : { duration }),
        requests: [{ method, headers, body, ...(onResponse ? { onResponse } : {}) }],
        timeout: 30,
        // autocannon ends a run (and calls back) on its sampling tick only, 1 s by default: a run
        // of `amount` requests would count up to a second with none in flight.
        sampleInt: SAMPLE_MS,
      },
      (err, result) => {
        clearInterval(ticker);
        process.stderr.write('\n');
        if (err) return reject(err);
        const seconds = (Date.now() - started) / 1000;
        latencies.sort((a, b) => a - b);
        resolve({
          label,
          connections,
          requests: latencies.length,
          ok,
          non2xx,
          errors: result.errors + result.timeouts,
          seconds: Number(seconds.toFixed(2)),
          rps: Math.round(ok / seconds),
          p50: round(quantile(latencies, 0.5)),
          p95: round(quantile(latencies, 0.95)),
          p99: round(quantile(latencies, 0.99)),
          max: round(latencies.at(-1) ?? Number.NaN),
        });
      },
    );
    instance.on('response', (_client, status, _bytes, responseTime) => {
      latencies.push(responseTime);
      if (status >= 200 && status < 300) ok++;
      else non2xx++;
    });
    const ticker = setInterval(() => {
      const elapsed = ((Date.now() - started) / 1000).toFixed(0);
      const goal = amount
        ? `${latencies.length}/${amount} requests`
        : `${elapsed}/${duration} s, ${latencies.length} requests`;
      process.stderr.write(`\r[bench] ${label} c=${connections}: ${goal}, ${non2xx} non-2xx   `);
    }, 1000);
  });
}

/** Digits after the decimal point of `value` as written (each figure is rounded where it is made). */
const decimals = (value) => (Number.isInteger(value) ? 0 : (String(value).split('.')[1]?.length ?? 0));

/**
 * The median of `values`. Of an even number, the mean of the middle two, rounded to as many
 * decimals as they have: of 3.05 and 3.06, 3.05 (the mean is 3.0549999999999997 in binary).
 */
const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  if (sorted.length % 2 === 1) return sorted[middle];
  const [low, high] = [sorted[middle - 1], sorted[middle]];
  return Number(((low + high) / 2).toFixed(Math.max(decimals(low), decimals(high))));
};

/** The median of each figure over repeated runs of one target (each figure on its own). */
export function medianRun(runs) {
  const [first] = runs;
  const result = { ...first };
  for (const [key, value] of Object.entries(first)) {
    if (typeof value === 'number' && key !== 'connections') result[key] = median(runs.map((run) => run[key]));
  }
  return result;
}
