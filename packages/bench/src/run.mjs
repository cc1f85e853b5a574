#!/usr/bin/env node
// `pnpm bench`: measures the local system in the runtime the README's start command uses
// (`wrangler dev`), against a baseline Worker served the same way in the same run.
//
//   pnpm bench                 full run (about 4 minutes)
//   pnpm bench --short         a few seconds per phase: proves the harness and its correctness checks
//   pnpm bench --events 50000  end-to-end event count (default 20,000)
//   pnpm bench --concurrency 16 --duration 5   only these load levels, shorter phases
//
// Writes bench-results/<time>.json and bench-results/<time>.md and prints the Markdown table.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { root, wranglerBin } from '@triggers/tooling';
import { HARNESS_BATCH_TIMEOUT_SECONDS, peakRss, startSystem, startWorkers } from '@triggers/tooling/system';
import { drain, settle } from './drain.mjs';
import { load } from './load.mjs';
import { toMarkdown } from './report.mjs';

const { values } = parseArgs({
  options: {
    short: { type: 'boolean', default: false },
    events: { type: 'string' },
    duration: { type: 'string' },
    concurrency: { type: 'string' },
  },
});
const short = values.short;
const settings = {
  mode: short ? 'short' : 'full',
  duration_s: Number(values.duration ?? (short ? 2 : 10)),
  concurrency: values.concurrency ? values.concurrency.split(',').map(Number) : [1, 16, 64],
  event_bytes: 1024,
  batch_size: 100,
  e2e_events: Number(values.events ?? (short ? 500 : 20_000)),
  e2e_concurrency: 16,
  // The benchmark measures the pipeline, not the per-key limiter (it would answer 429 within a
  // second); the limiter binding still runs on every request.
  rate_limit_per_key: 100_000_000,
  consumer_batch_timeout_s: HARNESS_BATCH_TIMEOUT_SECONDS['event-queue'],
};

const baselineConfig = join(dirname(fileURLToPath(import.meta.url)), '..', 'baseline', 'wrangler.toml');

/** A JSON event body of exactly `bytes` bytes. */
function eventBody(bytes) {
  const empty = JSON.stringify({ payload: { type: 'bench.event', data: '' } });
  return JSON.stringify({ payload: { type: 'bench.event', data: 'x'.repeat(bytes - empty.length) } });
}

function versions() {
  const wrangler = execFileSync(process.execPath, [wranglerBin, '--version'], { encoding: 'utf8' })
    .trim()
    .split('\n')
    .at(-1);
  return { node: process.version, wrangler };
}

const memoryOf = (server) => server.runtimePids().reduce((sum, pid) => sum + peakRss(pid), 0);

const baselineState = mkdtempSync(join(tmpdir(), 'triggers-bench-baseline-'));
const running = [];
try {
  console.error(`[bench] ${settings.mode} run: starting the baseline Worker and the system`);
  const baseline = await startWorkers({
    configs: [baselineConfig],
    persistTo: baselineState,
    readyPath: '/',
  });
  running.push(baseline);
  const system = await startSystem({
    rateLimit: settings.rate_limit_per_key,
    keys: { bench: { mode: 'test', name: 'bench' } },
  });
  running.push(system);

  const headers = { authorization: `Bearer ${system.keys.bench}`, 'content-type': 'application/json' };
  const body = eventBody(settings.event_bytes);
  const throughput = [];
  for (const connections of settings.concurrency) {
    const common = { method: 'POST', headers, body, connections, duration: settings.duration_s };
    const base = await load({ ...common, label: 'baseline', url: baseline.url });
    const ingest = await load({ ...common, label: 'POST /events', url: `${system.url}/events` });
    throughput.push({
      connections,
      baseline: base,
      ingest,
      ratio: Number((ingest.rps / base.rps).toFixed(3)),
    });
    // The consumer stores what this phase queued before the next phase starts, so that every
    // phase meets the same idle system rather than the previous phase's backlog.
    await settle(
      system.persistTo,
      throughput.reduce((sum, row) => sum + row.ingest.ok, 0),
    );
  }

  const batchBody = JSON.stringify({
    events: Array.from({ length: settings.batch_size }, () => JSON.parse(body)),
  });
  const batchRun = await load({
    label: 'POST /events/batch',
    url: `${system.url}/events/batch`,
    method: 'POST',
    headers,
    body: batchBody,
    connections: 16,
    duration: settings.duration_s,
  });
  const batch = {
    ...batchRun,
    events_per_request: settings.batch_size,
    events_per_second: batchRun.rps * settings.batch_size,
  };

  // Let the consumer store the earlier phases' events first: the end-to-end figure starts empty.
  const backlog = throughput.reduce((sum, row) => sum + row.ingest.ok, 0) + batchRun.ok * settings.batch_size;
  const backlogSeconds = await settle(system.persistTo, backlog);
  const e2e = await drain({
    url: system.url,
    headers,
    body,
    state: system.persistTo,
    count: settings.e2e_events,
    connections: settings.e2e_concurrency,
  });

  const memory = {
    runtime_peak_rss_bytes: memoryOf(system),
    baseline_runtime_peak_rss_bytes: memoryOf(baseline),
  };
  await system.stop();

  // The cost of the per-request log line: the ingest Worker alone with LOG_LEVEL=warn.
  const quiet = await startSystem({
    consumer: false,
    rateLimit: settings.rate_limit_per_key,
    keys: { bench: { mode: 'test', name: 'bench' } },
    vars: { LOG_LEVEL: 'warn' },
  });
  running.push(quiet);
  const quietRun = await load({
    label: 'POST /events, LOG_LEVEL=warn',
    url: `${quiet.url}/events`,
    method: 'POST',
    headers: { ...headers, authorization: `Bearer ${quiet.keys.bench}` },
    body,
    connections: 16,
    duration: settings.duration_s,
  });
  const logging = {
    connections: 16,
    quiet: quietRun,
    with_request_log: throughput.find((row) => row.connections === 16)?.ingest,
  };

  const result = {
    time: new Date().toISOString(),
    machine: {
      cpu: cpus()[0]?.model,
      cores: cpus().length,
      memory_bytes: totalmem(),
      platform: process.platform,
    },
    versions: versions(),
    settings,
    throughput,
    logging,
    batch,
    end_to_end: {
      ...e2e,
      earlier_phases: { events: backlog, stored_within_s: Number(backlogSeconds.toFixed(1)) },
    },
    memory,
  };
  const outDir = join(root, 'bench-results');
  mkdirSync(outDir, { recursive: true });
  const stamp = result.time.replace(/[:.]/g, '-');
  const markdown = toMarkdown(result);
  writeFileSync(join(outDir, `${stamp}.json`), `${JSON.stringify(result, null, 2)}\n`);
  writeFileSync(join(outDir, `${stamp}.md`), markdown);
  console.log(markdown);

  // Correctness, checked in every mode (CI runs --short for exactly this).
  const problems = [];
  for (const run of [...throughput.flatMap((row) => [row.baseline, row.ingest]), batch, quietRun]) {
    if (run.non2xx > 0 || run.errors > 0 || run.ok === 0) {
      problems.push(
        `${run.label} c=${run.connections}: ${run.ok} ok, ${run.non2xx} non-2xx, ${run.errors} errors`,
      );
    }
  }
  if (
    e2e.lost !== 0 ||
    e2e.duplicated !== 0 ||
    e2e.accepted !== settings.e2e_events ||
    e2e.stored !== e2e.accepted
  ) {
    problems.push(
      `end to end: ${e2e.accepted} accepted, ${e2e.stored} stored, ${e2e.lost} lost, ${e2e.duplicated} duplicated`,
    );
  }
  if (problems.length > 0) {
    console.error(`[bench] FAILED:\n${problems.join('\n')}`);
    process.exitCode = 1;
  }
} finally {
  for (const server of running) await server.stop();
  rmSync(baselineState, { recursive: true, force: true });
}
