// The benchmark result as a Markdown table.

const ms = (value) => (Number.isFinite(value) ? `${value}` : '–');
const mib = (bytes) => `${(bytes / 1024 / 1024).toFixed(0)} MiB`;

export function toMarkdown(result) {
  const { machine, versions, settings } = result;
  const lines = [
    `## Benchmark (${result.time})`,
    '',
    `Machine: ${machine.cpu}, ${machine.cores} cores, ${mib(machine.memory_bytes)}${machine.load_average ? `, load average ${machine.load_average.start} at the start and ${machine.load_average.end} at the end` : ''}; Node ${versions.node}, ${versions.wrangler}; ${settings.mode} run${settings.e2e_only ? ', end-to-end batch phase only' : `, ${settings.duration_s} s per load phase`}, ${settings.event_bytes} B events; wrangler's local trace collector ${settings.local_observability ? 'on' : 'off'}.`,
    '',
  ];
  if (result.throughput) lines.push(...loadPhases(result));
  if (result.end_to_end_batch) lines.push(...batchEndToEnd(result.end_to_end_batch, machine));
  if (result.native_profile) lines.push(...nativeProfile(result.native_profile));
  if (result.e2e_profile) lines.push(...e2eProfile(result.e2e_profile));
  return lines.join('\n');
}

/** The load phases, batch, single-event end to end, memory and profiles. */
function loadPhases(result) {
  const { settings } = result;
  const calls = `${result.limiter_calls} limiter call${result.limiter_calls === 1 ? '' : 's'}`;
  const lines = [
    `Each load level runs the four targets ${settings.repetitions ?? 1} time(s), interleaved; figures are medians. CPU is the time the target's processes (wrangler and workerd) used from the first request until idle again (for POST /events: until the consumer stored every event), per 2xx answer.`,
    '',
    `| target | concurrency | req/s | p50 ms | p95 ms | p99 ms | non-2xx | CPU ms/req | ingest/baseline | ingest/floor | ingest/(floor + ${calls}) |`,
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const row of result.throughput) {
    for (const run of [row.baseline, row.floor, row.floor_limited, row.ingest].filter(Boolean)) {
      const ingest = run === row.ingest;
      lines.push(
        `| ${run.label} | ${run.connections} | ${run.rps} | ${ms(run.p50)} | ${ms(run.p95)} | ${ms(run.p99)} | ${run.non2xx} | ${ms(run.cpu_ms_per_request)} | ${ingest ? row.ratio.toFixed(2) : ''} | ${ingest && row.floor_ratio ? row.floor_ratio.toFixed(2) : ''} | ${ingest && row.limited_floor_ratio ? row.limited_floor_ratio.toFixed(2) : ''} |`,
      );
    }
  }
  lines.push('');
  for (const row of result.throughput) {
    if (row.floor_limited) {
      const goal = row.connections === 16 ? ` (goal ≥ ${result.limited_floor_goal})` : '';
      lines.push(
        `- c=${row.connections}: ingest / (floor + the ${calls} POST /events makes) **${row.limited_floor_ratio.toFixed(2)}**${goal}, p99 over theirs **${row.p99_over_limited_floor}**; ingest/floor ${row.floor_ratio.toFixed(2)}, p99 ingest/floor ${row.p99_over_floor}; the limiter calls account for ${Math.round(row.limiter_share_of_gap * 100)} % of the gap between the floor and POST /events; CPU per accepted event / baseline CPU per request ${row.cpu_over_baseline}.`,
      );
    } else if (row.floor) {
      lines.push(
        `- c=${row.connections}: ingest/floor **${row.floor_ratio.toFixed(2)}**, p99 ingest/floor **${row.p99_over_floor}**, CPU per accepted event / baseline CPU per request **${row.cpu_over_baseline}**.`,
      );
    }
  }
  lines.push('');
  if (result.logging?.with_request_log) {
    const { quiet, with_request_log: loud } = result.logging;
    lines.push(
      `Logging: at concurrency ${quiet.connections}, the ingest Worker alone with LOG_LEVEL=warn (no per-request line) serves ${quiet.rps} req/s, p99 ${ms(quiet.p99)} ms, CPU ${ms(quiet.cpu_ms_per_request)} ms per request (${ms(quiet.runtime_cpu_ms_per_request)} in workerd); with the line and the consumer (the table above): ${loud.rps} req/s, p99 ${ms(loud.p99)} ms, CPU ${ms(loud.cpu_ms_per_request)} ms (${ms(loud.runtime_cpu_ms_per_request)} in workerd).`,
      '',
    );
  }
  if (result.batch) {
    const b = result.batch;
    lines.push(
      `Batch: POST /events/batch with ${b.events_per_request} events per request, concurrency ${b.connections}: ${b.rps} req/s = **${b.events_per_second} events/s** (**${b.over_single ?? '–'}×** POST /events' req/s at the same concurrency; goal ≥ 50), p50 ${ms(b.p50)} ms, p99 ${ms(b.p99)} ms, ${b.non2xx} non-2xx, CPU ${ms(b.cpu_ms_per_event)} ms per event.`,
      '',
    );
  } else {
    lines.push('Batch: POST /events/batch is not available in this build.', '');
  }
  if (result.end_to_end) {
    const e = result.end_to_end;
    lines.push(
      `End to end: ${e.sent} events sent (concurrency ${e.connections}), ${e.accepted} accepted in ${e.send_seconds} s; all stored ${e.drain_seconds} s after the last was accepted (${e.total_seconds} s from the first send, **${e.events_per_second} events/s** end to end). Stored ${e.stored}, dead-lettered ${e.dead_lettered}, lost **${e.lost}**, duplicated **${e.duplicated}**.`,
      '',
    );
  }
  const m = result.memory;
  lines.push(
    `Peak memory (VmHWM of the workerd processes): system ${mib(m.runtime_peak_rss_bytes)}, floor ${m.floor_runtime_peak_rss_bytes ? mib(m.floor_runtime_peak_rss_bytes) : '–'}, baseline ${mib(m.baseline_runtime_peak_rss_bytes)}. System resident (VmRSS) after the single-event phases ${m.after_single_events ? mib(m.after_single_events) : '–'}, after the batch phase ${m.after_batch ? mib(m.after_batch) : '–'}, after end to end ${m.after_end_to_end ? mib(m.after_end_to_end) : '–'}.`,
    '',
  );
  for (const [name, profile] of Object.entries(result.profiles?.workers ?? {})) {
    lines.push(
      ...workerProfile(
        profile,
        `Profile of ${name} (load at concurrency ${result.profiles.connections}, ${profile.requests} requests)`,
      ),
    );
  }
  return lines;
}

/** One Worker's profile (`selfTimes` of profile.mjs): what was sampled, and its top functions. */
function workerProfile(profile, title) {
  if (profile.attributed_ms === 0) return [];
  return [
    `${title}: ${profile.total_ms} ms sampled (${profile.not_running_ms ?? 0} ms more with no code running, not counted), ${profile.runtime_ms} ms of it outside JavaScript (the runtime, or waiting for a CPU), ${profile.attributed_ms} ms in functions${profile.heap_used_bytes ? `; JavaScript heap ${mib(profile.heap_used_bytes)} after the load` : ''}; top functions by self time:`,
    '',
    '| function | where | self ms | share of functions |',
    '|---|---|---:|---:|',
    ...profile.functions.map(
      (f) => `| ${f.name} | ${f.where} | ${f.self_ms} | ${(f.share * 100).toFixed(1)} % |`,
    ),
    '',
  ];
}

/** `--e2e-profile`: each Worker's top functions during one more end-to-end batch run. */
function e2eProfile(profile) {
  if (profile.error) return [`End-to-end profile: none (${profile.error}).`, ''];
  return Object.entries(profile.workers).flatMap(([name, worker]) =>
    workerProfile(
      worker,
      `End-to-end profile of ${name} (one more batch run of this tree, ${profile.events} events: ${profile.events_per_second_under_profiler} events/s under the profiler, not a measured figure; the bundle's lines are those of \`wrangler dev\`'s build)`,
    ),
  );
}

const figure = (value, digits = 2) => (value === undefined ? '–' : value.toFixed(digits));

/** The end-to-end batch phase: each tree's and the batch floor's medians, and the ratios. */
function batchEndToEnd(e2e, machine) {
  const [first] = Object.values(e2e.medians);
  const ratios = e2e.current_over_baseline;
  const rows = [...e2e.trees, ...(e2e.batch_floor ? [e2e.batch_floor] : [])];
  const lines = [
    `End to end through the batch path: ${e2e.events} events of 1 KB, POST /events/batch with ${first.batch_size} per request, ${first.connections} requests in flight, ${e2e.shared_system ? 'on the system of the phases above, with a key of its own' : 'each tree on a system of its own'}, ${e2e.repetitions} repetition(s) interleaved${e2e.batch_floor ? ` with the batch durable floor (POST /batch of packages/bench/floor${e2e.shared_system ? ", on the floors' Worker of the phases above" : ', on a Worker of its own'})` : ''}; figures are medians (${machine.cores} cores, load average ${machine.load_average.start} at the start, ${machine.load_average.end} at the end). CPU is the utime + stime of the workerd processes (both Workers, the local queue and store) from the first send until every accepted event is stored, per stored event; peak is their VmHWM.`,
    '',
    '| tree | commit | store | accepted in s | all stored in s | events/s end to end | workerd CPU ms/event | peak RSS | lost | duplicated |',
    '|---|---|---|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const { name, commit } of rows) {
    const m = e2e.medians[name];
    const worst = (key) => Math.max(...e2e.runs[name].map((run) => run[key]));
    lines.push(
      `| ${name} | ${commit.slice(0, 12)} | ${m.layout} | ${m.accepted_in_seconds} | ${m.all_stored_seconds} | ${m.events_per_second} | ${m.workerd_cpu_ms_per_event} | ${mib(m.peak_rss_bytes)} | ${worst('lost')} | ${worst('duplicated')} |`,
    );
  }
  lines.push('');
  for (const [name, over] of Object.entries(e2e.over_batch_floor ?? {})) {
    if (!over) continue;
    lines.push(
      `${name[0].toUpperCase()}${name.slice(1)} / batch floor: events/s end to end **${figure(over.events_per_second)}**, workerd CPU per event ${figure(over.workerd_cpu_ms_per_event)}, peak RSS ${figure(over.peak_rss_bytes)}.`,
    );
  }
  if (e2e.over_batch_floor) lines.push('');
  if (ratios) {
    lines.push(
      `Current / baseline: events/s end to end **${figure(ratios.events_per_second)}**, workerd CPU per event ${figure(ratios.workerd_cpu_ms_per_event)}, peak RSS ${figure(ratios.peak_rss_bytes)}.`,
      '',
    );
  }
  return lines;
}

/** `--native-profile`: the shares of perf's samples by what they were doing. */
function nativeProfile(profile) {
  if (profile.error) return [`Native profile: none (${profile.error}).`, ''];
  return [
    `Native profile of this tree (Linux perf at ${profile.frequency_hz} Hz, every thread of its workerd processes, one more end-to-end batch run of ${profile.events} events: ${profile.events_per_second_under_profiler} events/s under the sampler, not a measured figure): ${profile.samples} samples, ${(profile.page_fault_share * 100).toFixed(1)} % of them in a page fault, whatever their category. Each sample counts once, in the first category any frame of its stack matches (packages/bench/src/native-profile.mjs); the stacks are in the run's \`-native.folded\` file.`,
    '',
    '| what the runtime was doing | share of samples |',
    '|---|---:|',
    ...profile.categories.map(({ category, share }) => `| ${category} | ${(share * 100).toFixed(1)} % |`),
    '',
  ];
}
