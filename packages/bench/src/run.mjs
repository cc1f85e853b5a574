#!/usr/bin/env node
// `pnpm bench`: measures the local system in the runtime the README's start command uses
// (`wrangler dev`), against a baseline Worker served the same way in the same run.
//
//   pnpm bench                 full run (about 3 minutes)
//   pnpm bench --short         a few seconds per phase: proves the harness and its correctness checks
//   pnpm bench --events 50000  end-to-end event count (default 20,000)
//
// Writes bench-results/<time>.json and bench-results/<time>.md and prints the Markdown table.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { consumerConfig, ingestConfig, root, seedApiKeys, wranglerBin } from '@triggers/tooling/local';
import { peakRss, startWorkers } from '@triggers/tooling/system';
import { drain } from './drain.mjs';
import { load } from './load.mjs';
import { toMarkdown } from './report.mjs';

const { values } = parseArgs({
  options: {
    short: { type: 'boolean', default: false },
    events: { type: 'string' },
    duration: { type: 'string' },
  },
});
const short = values.short;
const settings = {
  mode: short ? 'short' : 'full',
  duration_s: Number(values.duration ?? (short ? 2 : 10)),
  concurrency: [1, 16, 64],
  event_bytes: 1024,
  batch_size: 100,
  e2e_events: Number(values.events ?? (short ? 500 : 20_000)),
  e2e_concurrency: 16,
};

const here = dirname(fileURLToPath(import.meta.url));
const baselineConfig = join(here, '..', 'baseline', 'wrangler.toml');

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

const state = mkdtempSync(join(tmpdir(), 'triggers-bench-'));
const baselineState = mkdtempSync(join(tmpdir(), 'triggers-bench-baseline-'));
const withConsumer = existsSync(consumerConfig);
const servers = [];
try {
  console.error(`[bench] ${settings.mode} run; state in ${state}`);
  const [{ key }] = await seedApiKeys([{ mode: 'test', name: 'bench' }], { dir: state });
  if (withConsumer) {
    execFileSync(
      process.execPath,
      [
        wranglerBin,
        'd1',
        'migrations',
        'apply',
        'DB',
        '--local',
        '--persist-to',
        state,
        '-c',
        consumerConfig,
      ],
      {
        cwd: root,
        stdio: 'ignore',
        env: { ...process.env, CI: 'true' },
      },
    );
  }

  const baseline = await startWorkers({
    configs: [baselineConfig],
    persistTo: baselineState,
    readyPath: '/',
  });
  servers.push(baseline);
  const system = await startWorkers({
    configs: withConsumer ? [ingestConfig, consumerConfig] : [ingestConfig],
    persistTo: state,
  });
  servers.push(system);

  const headers = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
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
  }

  let batch;
  const probe = await fetch(`${system.url}/events/batch`, { method: 'POST', headers, body: '{"events":[]}' });
  await probe.arrayBuffer();
  if (probe.status !== 404) {
    const events = JSON.stringify({
      events: Array.from({ length: settings.batch_size }, () => JSON.parse(body)),
    });
    const run = await load({
      label: 'POST /events/batch',
      url: `${system.url}/events/batch`,
      method: 'POST',
      headers,
      body: events,
      connections: 16,
      duration: settings.duration_s,
    });
    batch = {
      ...run,
      events_per_request: settings.batch_size,
      events_per_second: run.rps * settings.batch_size,
    };
  }

  let e2e;
  if (withConsumer)
    e2e = await drain({
      url: system.url,
      headers,
      body,
      state,
      count: settings.e2e_events,
      connections: settings.e2e_concurrency,
    });

  const memory = {
    runtime_peak_rss_bytes: system.runtimePids().reduce((sum, pid) => sum + (peakRss(pid) ?? 0), 0),
    baseline_runtime_peak_rss_bytes: baseline
      .runtimePids()
      .reduce((sum, pid) => sum + (peakRss(pid) ?? 0), 0),
  };

  // The cost of the per-request log line: the ingest Worker alone with LOG_LEVEL=warn, at
  // concurrency 16, on the same state once the full system has stopped.
  await system.stop();
  const quiet = await startWorkers({
    configs: [ingestConfig],
    persistTo: state,
    vars: { LOG_LEVEL: 'warn' },
  });
  servers.push(quiet);
  const quietRun = await load({
    label: 'POST /events, LOG_LEVEL=warn',
    url: `${quiet.url}/events`,
    method: 'POST',
    headers,
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
    batch: batch ?? null,
    end_to_end: e2e ?? null,
    memory,
  };
  const outDir = join(root, 'bench-results');
  mkdirSync(outDir, { recursive: true });
  const stamp = result.time.replace(/[:.]/g, '-');
  const markdown = toMarkdown(result);
  writeFileSync(join(outDir, `${stamp}.json`), `${JSON.stringify(result, null, 2)}\n`);
  writeFileSync(join(outDir, `${stamp}.md`), markdown);
  console.log(markdown);

  const problems = [];
  for (const row of throughput) {
    for (const run of [row.baseline, row.ingest]) {
      if (run.non2xx > 0 || run.errors > 0 || run.ok === 0)
        problems.push(
          `${run.label} c=${run.connections}: ${run.ok} ok, ${run.non2xx} non-2xx, ${run.errors} errors`,
        );
    }
  }
  if (batch && (batch.non2xx > 0 || batch.errors > 0))
    problems.push(`batch: ${batch.non2xx} non-2xx, ${batch.errors} errors`);
  if (e2e && (e2e.lost !== 0 || e2e.duplicated !== 0 || e2e.accepted !== settings.e2e_events)) {
    problems.push(`end to end: ${e2e.accepted} accepted, ${e2e.lost} lost, ${e2e.duplicated} duplicated`);
  }
  if (problems.length > 0) {
    console.error(`[bench] FAILED:\n${problems.join('\n')}`);
    process.exitCode = 1;
  }
} finally {
  for (const server of servers) await server.stop();
  rmSync(state, { recursive: true, force: true });
  rmSync(baselineState, { recursive: true, force: true });
}
