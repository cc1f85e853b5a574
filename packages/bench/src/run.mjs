#!/usr/bin/env node
// `pnpm bench`: measures the local system in the runtime the README's start command uses
// (`wrangler dev`), against a baseline Worker served the same way in the same run.
//
//   pnpm bench                 full run (about 15 minutes on 2 idle cores)
//   pnpm bench --short         a few seconds per phase: proves the harness and its correctness checks
//   pnpm bench --events 50000  events of the end-to-end batch phase (default 100,000; 1,000 with --short)
//   pnpm bench --single-events 5000   events of the end-to-end single-event phase (default 20,000)
//   pnpm bench --e2e-only      only the end-to-end batch phase: this tree, the baseline tree, the batch floor
//   pnpm bench --baseline-ref <git ref>   the previous design to compare end to end with (default:
//                              the merge base with main, or HEAD^1 on main; none with --short
//                              unless given; `none`: no baseline)
//   pnpm bench --concurrency 16 --duration 5   only these load levels, shorter phases
//   pnpm bench --reps 5        interleaved repetitions per load level (default 3; 1 with --short)
//   pnpm bench --profile       also CPU-profile the Workers under load (bench-results/*.cpuprofile)
//   pnpm bench --native-profile   also sample this tree's workerd with Linux perf during one more
//                              end-to-end batch run: where its CPU goes, native code included
//                              (bench-results/*-native.folded)
//   pnpm bench --e2e-profile   also CPU-profile both Workers (the inspector's sampler, JavaScript by
//                              function) during one more end-to-end batch run of this tree
//                              (bench-results/*-e2e-<worker>.cpuprofile)
//   pnpm bench --local-observability   keep wrangler's local trace collector on (off by default)
//
// Writes bench-results/<time>.json and bench-results/<time>.md and prints the Markdown table.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { root, wranglerBin } from '@triggers/tooling';
import { HARNESS_BATCH_TIMEOUT_SECONDS, startSystem, startWorkers } from '@triggers/tooling/system';
import { baselineCommit, extractTree, startSystemOf } from './baseline-tree.mjs';
import { batchEndToEnd, systemTarget } from './batch-e2e.mjs';
import { compareEndToEnd } from './compare.mjs';
import { cpuMs, untilIdle } from './cpu.mjs';
import { drain, settle } from './drain.mjs';
import { load, medianRun } from './load.mjs';
import { categorize, foldedStacks, perfUnavailable, startNativeProfile } from './native-profile.mjs';
import { currentRss, peakRss, runtimePids } from './proc.mjs';
import { selfTimes, startProfiling, workerTargets } from './profile.mjs';
import { toMarkdown } from './report.mjs';

const { values } = parseArgs({
  options: {
    short: { type: 'boolean', default: false },
    events: { type: 'string' },
    'single-events': { type: 'string' },
    'e2e-only': { type: 'boolean', default: false },
    'baseline-ref': { type: 'string' },
    duration: { type: 'string' },
    concurrency: { type: 'string' },
    reps: { type: 'string' },
    profile: { type: 'boolean', default: false },
    'native-profile': { type: 'boolean', default: false },
    'e2e-profile': { type: 'boolean', default: false },
    'local-observability': { type: 'boolean', default: false },
  },
});
// wrangler dev attaches its local trace collector (X_LOCAL_OBSERVABILITY, on by default in the
// wrangler this repo pins) to every Worker as a streaming tail: each invocation and binding call
// becomes spans in a SQLite store, work Cloudflare does outside the isolate. It costs more for the system (two Workers,
// more binding calls per event) than for the floor, so every target runs without it unless
// --local-observability asks to measure it too.
if (!values['local-observability']) process.env.X_LOCAL_OBSERVABILITY = 'false';
const short = values.short;
const settings = {
  mode: short ? 'short' : 'full',
  duration_s: Number(values.duration ?? (short ? 2 : 10)),
  concurrency: values.concurrency ? values.concurrency.split(',').map(Number) : [1, 16, 64],
  // Each load level runs baseline, floor and ingest this many times, in rotating order, and
  // reports medians: on a shared machine a single run of each says more about the neighbours.
  repetitions: Number(values.reps ?? (short ? 1 : 3)),
  event_bytes: 1024,
  batch_size: 100,
  e2e_events: Number(values['single-events'] ?? (short ? 500 : 20_000)),
  e2e_concurrency: 16,
  // End to end through the batch path (issue 21): 100 events per request, 8 requests in flight.
  e2e_batch_events: Number(values.events ?? (short ? 1_000 : 100_000)),
  e2e_batch_concurrency: 8,
  e2e_only: values['e2e-only'],
  // The benchmark measures the pipeline, not the per-key limiter (it would answer 429 within a
  // second); the limiter binding still runs on every request.
  rate_limit_per_key: 100_000_000,
  consumer_batch_timeout_s: HARNESS_BATCH_TIMEOUT_SECONDS['event-queue'],
  local_observability: values['local-observability'],
};

/**
 * Rate limiting binding calls one `POST /events` makes: `requests_per_key` only (a single event is
 * not charged to `events_per_key`; docs/api.md, "Rate limits"). The floor plus as many calls is
 * what ingest is held to (goal below).
 */
const INGEST_LIMITER_CALLS = 1;
/** The goal for ingest over the floor plus its limiter calls, at 16 connections. */
const LIMITED_FLOOR_GOAL = 0.8;

const here = dirname(fileURLToPath(import.meta.url));
const baselineConfig = join(here, '..', 'baseline', 'wrangler.toml');
const floorConfig = join(here, '..', 'floor', 'wrangler.toml');

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

/** HEAD's commit, with `+changes` when the worktree differs from it (what the current tree runs). */
function currentCommit() {
  const head = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: root, encoding: 'utf8' }).trim();
  const dirty = execFileSync('git', ['status', '--porcelain'], { cwd: root, encoding: 'utf8' }).trim();
  return dirty ? `${head}+changes` : head;
}

const memoryOf = (server) => runtimePids(server.pid).reduce((sum, pid) => sum + peakRss(pid), 0);
const rssOf = (server) => runtimePids(server.pid).reduce((sum, pid) => sum + currentRss(pid), 0);

/**
 * How long a load phase runs at `connections`: `duration_s` seconds, or with --short a fixed
 * number of requests, so that a phase on a loaded CI machine (where one answer at concurrency 64
 * can take longer than a short phase) still proves the harness with answers that came back.
 */
const phaseLength = (connections) =>
  short ? { amount: Math.max(20, 2 * connections) } : { duration: settings.duration_s };

/**
 * `--profile`: CPU profiles of the floor and of both system Workers under `POST /events` load at
 * concurrency 16, each until its processes are idle again (so the consumer's batches are in).
 * Runs after the measured phases: the profiler's own cost never reaches a figure.
 */
async function profileUnderLoad({ system, floor, headers, body }) {
  const raw = new Map();
  const summary = {};
  for (const [server, url, first] of [
    [floor, floor.url, 'triggers-bench-floor'],
    [system, `${system.url}/events`, 'triggers-ingest'],
  ]) {
    // Our Workers only: profiling the runtime's helper Workers too (the dev registry proxy, the
    // trace collector) made the inspector miss its deadlines on 2 cores.
    const targets = new Map(
      [...(await workerTargets(server, first))].filter(([name]) => name.startsWith('triggers-')),
    );
    if (targets.size === 0) throw new Error("[bench] --profile: no Worker found on the runtime's inspector");
    const profiling = await startProfiling(targets);
    const names = [...targets.keys()].join(' + ');
    const run = await load({
      label: `profiling ${names}`,
      url,
      headers,
      body,
      connections: 16,
      ...phaseLength(16),
    });
    await untilIdle(server);
    for (const [name, profile] of await profiling.stop()) {
      if (profile.samples?.length === 0) continue;
      raw.set(name, profile);
      summary[name] = {
        requests: run.ok,
        ...(profile.heapUsage ? { heap_used_bytes: profile.heapUsage.usedSize } : {}),
        ...selfTimes(profile),
      };
    }
  }
  return { connections: 16, workers: summary, raw };
}

/** perf's sampling frequency: odd, so that it does not beat with the runtime's own timers. */
const NATIVE_PROFILE_HZ = 499;

/**
 * One more end-to-end batch run of this tree, on a system of its own, observed by a profiler:
 * `attach(system)` starts it before the first send and answers `stop`, called once every event
 * is stored, which answers what the run's report keeps. After the measured repetitions, so the
 * profiler's own cost reaches no figure, and the run's rate under it is none. Answers that, or
 * why there is none.
 * @param {{ startSystem: typeof startSystem }} tree
 * @param {string} flag
 * @param {(system: Awaited<ReturnType<typeof startSystem>>) => Promise<{ error: string } | { what: string, stop: () => Promise<object> }>} attach
 */
async function profiledRun(tree, flag, attach) {
  const system = await tree.startSystem({
    rateLimit: settings.rate_limit_per_key,
    keys: { e2e: { mode: 'test', name: 'bench e2e' } },
  });
  try {
    const profiler = await attach(system);
    if ('error' in profiler) return profiler;
    const count = settings.e2e_batch_events;
    console.error(`[bench] ${flag}: ${count} events end to end, ${profiler.what}`);
    const run = await batchEndToEnd({
      target: systemTarget(system, system.keys.e2e, system.keyIds.e2e),
      count,
      connections: settings.e2e_batch_concurrency,
    });
    return {
      events: count,
      events_per_second_under_profiler: run.events_per_second,
      ...(await profiler.stop()),
    };
  } catch (err) {
    return { error: err instanceof Error ? err.message : String(err) };
  } finally {
    await system.stop();
  }
}

/**
 * `--native-profile`: Linux perf samples the workerd processes during {@link profiledRun}.
 * Answers the categories and the folded stacks, or why there are none (perf missing or not
 * permitted: the run goes on without them).
 * @param {{ startSystem: typeof startSystem }} tree
 */
async function nativeProfile(tree) {
  const unavailable = perfUnavailable();
  if (unavailable) return { error: unavailable };
  return profiledRun(tree, '--native-profile', async (system) => {
    const sampling = await startNativeProfile(
      runtimePids(system.pid),
      join(scratch, 'perf.data'),
      NATIVE_PROFILE_HZ,
    );
    return {
      what: 'under perf',
      async stop() {
        const samples = await sampling.stop();
        return { frequency_hz: NATIVE_PROFILE_HZ, ...categorize(samples), folded: foldedStacks(samples) };
      },
    };
  });
}

/**
 * `--e2e-profile`: the inspector's sampling profiler on both Workers of the system (the tenant
 * stores run in the consumer's isolate) during {@link profiledRun}. Answers each Worker's top
 * functions by self time and its raw profile, or why there is none.
 * @param {{ startSystem: typeof startSystem }} tree
 */
function e2eProfile(tree) {
  return profiledRun(tree, '--e2e-profile', async (system) => {
    const targets = new Map(
      [...(await workerTargets(system, 'triggers-ingest'))].filter(([name]) => name.startsWith('triggers-')),
    );
    if (targets.size === 0) return { error: "no Worker found on the runtime's inspector" };
    // Every 500 µs: in the runs of 7 December 2026 the sessions answered at that interval (4 of 4)
    // and lost both Workers at the default 1,000 (2 of 2); a session that does not answer still
    // only leaves its Worker out, as with --profile.
    const profiling = await startProfiling(targets, 500);
    return {
      what: `profiling ${[...targets.keys()].join(' + ')}`,
      async stop() {
        const raw = new Map([...(await profiling.stop())].filter(([, profile]) => profile.samples?.length));
        const workers = Object.fromEntries([...raw].map(([name, profile]) => [name, selfTimes(profile)]));
        return { workers, raw };
      },
    };
  });
}

const loadAtStart = Number(loadavg()[0].toFixed(1));
const scratch = mkdtempSync(join(tmpdir(), 'triggers-bench-'));
const running = [];

/**
 * Starts the durable floors' Worker (`floor/`: the single-event floor and the batch floor) on a
 * fresh state of its own, with a private dev registry, as the system's: its queues never reach
 * another wrangler dev's.
 */
async function startFloor() {
  const dir = mkdtempSync(join(scratch, 'floor-'));
  const persistTo = join(dir, 'state');
  const floor = await startWorkers({
    configs: [floorConfig],
    persistTo,
    env: { WRANGLER_REGISTRY_PATH: join(dir, 'registry') },
    readyPath: '/',
  });
  return { ...floor, persistTo };
}
const result = {
  time: new Date().toISOString(),
  machine: {
    cpu: cpus()[0]?.model,
    cores: cpus().length,
    memory_bytes: totalmem(),
    platform: process.platform,
    // The machine's 1-minute load average when the run started and ended: on a shared machine
    // absolute figures mean little without it; the interleaved ratios are what to compare.
    load_average: { start: loadAtStart, end: loadAtStart },
  },
  versions: versions(),
  settings,
};
/** Correctness, checked in every mode (CI runs --short for exactly this). */
const problems = [];
/** @type {{ raw: Map<string, unknown> } | undefined} */
let profiles;
try {
  // The trees the end-to-end batch phase measures: this one, and the previous design's (prepared
  // first: a baseline that cannot be extracted or installed fails the run before any phase).
  const baselineRef = values['baseline-ref'] ?? (short ? 'none' : undefined);
  const trees = [{ name: 'current', commit: currentCommit(), startSystem }];
  if (baselineRef !== 'none') {
    const { ref, commit, chosen } = baselineCommit(baselineRef);
    const dir = join(scratch, 'baseline-tree');
    mkdirSync(dir);
    console.error(
      `[bench] baseline: ${commit.slice(0, 12)} (${ref}, ${chosen}); extracting and installing offline`,
    );
    extractTree(commit, dir);
    trees.push({ name: 'baseline', commit, startSystem: await startSystemOf(dir) });
    settings.baseline = { ref, commit, chosen };
  }
  const batchSettings = {
    // The batch durable floor is this tree's code.
    floor: { commit: trees[0].commit, start: startFloor },
    reps: settings.repetitions,
    count: settings.e2e_batch_events,
    rateLimit: settings.rate_limit_per_key,
    connections: settings.e2e_batch_concurrency,
  };
  let batchE2e;
  if (!settings.e2e_only) {
    console.error(
      `[bench] ${settings.mode} run: starting the baseline Worker, the durable floor and the system`,
    );
    // Started together: each is its own wrangler dev, and starting takes most of a --short run.
    const started = await Promise.allSettled([
      startWorkers({ configs: [baselineConfig], persistTo: join(scratch, 'baseline'), readyPath: '/' }),
      startFloor(),
      startSystem({
        rateLimit: settings.rate_limit_per_key,
        keys: { bench: { mode: 'test', name: 'bench' }, e2e: { mode: 'test', name: 'bench e2e' } },
      }),
    ]);
    for (const outcome of started) if (outcome.status === 'fulfilled') running.push(outcome.value);
    const failed = started.find((outcome) => outcome.status === 'rejected');
    if (failed) throw failed.reason;
    const [baseline, floor, system] = running;

    const headers = { authorization: `Bearer ${system.keys.bench}`, 'content-type': 'application/json' };
    const body = eventBody(settings.event_bytes);
    /** Events the system has accepted so far: what the consumer must have stored before a phase. */
    let acceptedSoFar = 0;
    const targets = [
      { name: 'baseline', label: 'baseline', server: baseline, url: baseline.url },
      { name: 'floor', label: 'floor', server: floor, url: floor.url },
      { name: 'ingest', label: 'POST /events', server: system, url: `${system.url}/events` },
      // The floor plus the rate limiter calls POST /events makes: what ingest is held to.
      {
        name: 'floor_limited',
        label: `floor + ${INGEST_LIMITER_CALLS} limiter call${INGEST_LIMITER_CALLS === 1 ? '' : 's'}`,
        server: floor,
        url: `${floor.url}/?limits=${INGEST_LIMITER_CALLS}`,
      },
    ];
    /**
     * One load phase of `target`, with the CPU its processes used from the first request until
     * they were idle again (for the system: every accepted event stored, consumer included).
     */
    const measure = async (target, connections) => {
      const before = cpuMs(target.server);
      const startedAt = Date.now();
      const run = await load({
        method: 'POST',
        headers,
        body,
        connections,
        ...phaseLength(connections),
        ...target,
      });
      if (target.server === system) {
        acceptedSoFar += run.ok;
        await settle(system.persistTo, acceptedSoFar);
      }
      const idleRate = await untilIdle(target.server);
      const after = cpuMs(target.server);
      // What the processes use when idle (timers, polling) is background, not the phase's work.
      const background = (idleRate * (Date.now() - startedAt)) / 1000;
      const perRequest = (used) => Number((Math.max(0, used - background) / Math.max(1, run.ok)).toFixed(3));
      return {
        ...run,
        cpu_ms_per_request: perRequest(after.total - before.total),
        runtime_cpu_ms_per_request: perRequest(after.runtime - before.runtime),
        // Without subtracting the background, as runs before 2026-12-02 04:30 UTC counted.
        gross_cpu_ms_per_request: Number(((after.total - before.total) / Math.max(1, run.ok)).toFixed(3)),
        background_cpu_ms_per_s: Number(idleRate.toFixed(1)),
      };
    };

    const throughput = [];
    /** Resident memory of the system's runtime after each phase: where its peak comes from. */
    const memory = {};
    for (const connections of settings.concurrency) {
      const runs = { baseline: [], floor: [], ingest: [], floor_limited: [] };
      for (let rep = 0; rep < settings.repetitions; rep++) {
        // Rotate the order, so no target always runs first (or right after the system's backlog).
        for (let i = 0; i < targets.length; i++) {
          const target = targets[(i + rep) % targets.length];
          runs[target.name].push(await measure(target, connections));
        }
      }
      const [base, floorRun, ingest, floorLimited] = [
        runs.baseline,
        runs.floor,
        runs.ingest,
        runs.floor_limited,
      ].map(medianRun);
      throughput.push({
        connections,
        repetitions: settings.repetitions,
        baseline: base,
        floor: floorRun,
        ingest,
        floor_limited: floorLimited,
        limited_floor_ratio: Number((ingest.rps / floorLimited.rps).toFixed(3)),
        p99_over_limited_floor: Number((ingest.p99 / floorLimited.p99).toFixed(2)),
        limiter_share_of_gap: Number(
          ((floorRun.rps - floorLimited.rps) / Math.max(1, floorRun.rps - ingest.rps)).toFixed(2),
        ),
        ratio: Number((ingest.rps / base.rps).toFixed(3)),
        floor_ratio: Number((ingest.rps / floorRun.rps).toFixed(3)),
        p99_over_floor: Number((ingest.p99 / floorRun.p99).toFixed(2)),
        cpu_over_baseline: Number((ingest.cpu_ms_per_request / base.cpu_ms_per_request).toFixed(2)),
        runs,
      });
    }
    memory.after_single_events = rssOf(system);

    const batchBody = JSON.stringify({
      events: Array.from({ length: settings.batch_size }, () => JSON.parse(body)),
    });
    const batchRun = await measure(
      { label: 'POST /events/batch', server: system, url: `${system.url}/events/batch`, body: batchBody },
      16,
    );
    // measure() counted the batch's requests as accepted events; the consumer stores 100 per request.
    acceptedSoFar += batchRun.ok * (settings.batch_size - 1);
    const single16 = throughput.find((row) => row.connections === 16)?.ingest;
    const batch = {
      ...batchRun,
      events_per_request: settings.batch_size,
      events_per_second: batchRun.rps * settings.batch_size,
      cpu_ms_per_event: Number((batchRun.cpu_ms_per_request / settings.batch_size).toFixed(3)),
      over_single: single16
        ? Number(((batchRun.rps * settings.batch_size) / single16.rps).toFixed(1))
        : undefined,
    };
    memory.after_batch = rssOf(system);

    // Let the consumer store the earlier phases' events first: the end-to-end figure starts empty.
    const backlog = acceptedSoFar;
    const backlogSeconds = await settle(system.persistTo, backlog);
    const e2e = await drain({
      url: system.url,
      headers,
      body,
      state: system.persistTo,
      count: settings.e2e_events,
      connections: settings.e2e_concurrency,
    });
    memory.after_end_to_end = rssOf(system);

    // Peaks before any profiling: the profiler's own buffers are not the system's.
    Object.assign(memory, {
      runtime_peak_rss_bytes: memoryOf(system),
      floor_runtime_peak_rss_bytes: memoryOf(floor),
      baseline_runtime_peak_rss_bytes: memoryOf(baseline),
    });
    // --short with no baseline: the batch phase on this system, with a key (tenant) of its own,
    // and the batch floor on the floors' Worker the other phases ran on (its batch store is empty).
    if (trees.length === 1 && short) {
      batchE2e = await compareEndToEnd({
        ...batchSettings,
        trees: [{ ...trees[0], running: system }],
        floor: { ...batchSettings.floor, running: floor },
      });
    }
    profiles = values.profile ? await profileUnderLoad({ system, floor, headers, body }) : undefined;
    await system.stop();

    // The cost of the per-request log line: the ingest Worker alone with LOG_LEVEL=warn.
    const quiet = await startSystem({
      consumer: false,
      rateLimit: settings.rate_limit_per_key,
      keys: { bench: { mode: 'test', name: 'bench' } },
      vars: { LOG_LEVEL: 'warn' },
    });
    running.push(quiet);
    const quietRun = await measure(
      {
        label: 'POST /events, LOG_LEVEL=warn',
        server: quiet,
        url: `${quiet.url}/events`,
        headers: { ...headers, authorization: `Bearer ${quiet.keys.bench}` },
      },
      16,
    );
    const logging = {
      connections: 16,
      quiet: quietRun,
      with_request_log: single16,
    };

    Object.assign(result, {
      limiter_calls: INGEST_LIMITER_CALLS,
      limited_floor_goal: LIMITED_FLOOR_GOAL,
      throughput,
      logging,
      batch,
      end_to_end: {
        ...e2e,
        earlier_phases: { events: backlog, stored_within_s: Number(backlogSeconds.toFixed(1)) },
      },
      memory,
      ...(profiles ? { profiles } : {}),
    });
    const everyRun = throughput.flatMap((row) => [
      ...row.runs.baseline,
      ...row.runs.floor,
      ...row.runs.ingest,
    ]);
    for (const run of [...everyRun, batch, quietRun]) {
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
  }

  // The other Workers stopped: each repetition of this phase has the machine to itself.
  for (const server of running) await server.stop();
  batchE2e ??= await compareEndToEnd({ ...batchSettings, trees });
  result.end_to_end_batch = batchE2e;
  for (const [name, runs] of Object.entries(batchE2e.runs)) {
    if (runs.length !== settings.repetitions) {
      problems.push(`end to end (batch), ${name}: ${runs.length} of ${settings.repetitions} repetitions ran`);
    }
    for (const run of runs) {
      if (
        run.non2xx !== 0 ||
        run.errors !== 0 ||
        run.accepted !== run.sent ||
        run.stored !== run.accepted ||
        run.lost !== 0 ||
        run.duplicated !== 0
      ) {
        problems.push(
          `end to end (batch), ${name}: ${run.sent} sent, ${run.accepted} accepted, ${run.stored} stored, ${run.lost} lost, ${run.duplicated} duplicated, ${run.non2xx} non-2xx, ${run.errors} errors`,
        );
      }
    }
  }
  if (values['native-profile']) {
    const profile = await nativeProfile(trees[0]);
    if ('error' in profile) console.error(`[bench] --native-profile: none: ${profile.error}`);
    result.native_profile = profile;
  }
  if (values['e2e-profile']) {
    const profile = await e2eProfile(trees[0]);
    if ('error' in profile) console.error(`[bench] --e2e-profile: none: ${profile.error}`);
    result.e2e_profile = profile;
  }
  result.machine.load_average.end = Number(loadavg()[0].toFixed(1));

  const outDir = join(root, 'bench-results');
  mkdirSync(outDir, { recursive: true });
  const stamp = result.time.replace(/[:.]/g, '-');
  // The folded stacks go to a file of their own (flame graph tools read it), not into the JSON.
  if (result.native_profile?.folded !== undefined) {
    writeFileSync(join(outDir, `${stamp}-native.folded`), `${result.native_profile.folded}\n`);
    delete result.native_profile.folded;
  }
  const markdown = toMarkdown(result);
  writeFileSync(join(outDir, `${stamp}.json`), `${JSON.stringify(result, null, 2)}\n`);
  writeFileSync(join(outDir, `${stamp}.md`), markdown);
  for (const [name, profile] of profiles?.raw ?? []) {
    writeFileSync(join(outDir, `${stamp}-${name}.cpuprofile`), JSON.stringify(profile));
  }
  if (profiles) delete result.profiles.raw;
  for (const [name, profile] of result.e2e_profile?.raw ?? []) {
    writeFileSync(join(outDir, `${stamp}-e2e-${name}.cpuprofile`), JSON.stringify(profile));
  }
  delete result.e2e_profile?.raw;
  console.log(markdown);

  if (problems.length > 0) {
    console.error(`[bench] FAILED:\n${problems.join('\n')}`);
    process.exitCode = 1;
  }
} finally {
  for (const server of running) await server.stop();
  rmSync(scratch, { recursive: true, force: true });
}
