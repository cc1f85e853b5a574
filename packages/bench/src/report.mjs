// The benchmark result as a Markdown table.

const ms = (value) => (Number.isFinite(value) ? `${value}` : '–');
const mib = (bytes) => `${(bytes / 1024 / 1024).toFixed(0)} MiB`;

export function toMarkdown(result) {
  const { machine, versions, settings } = result;
  const lines = [
    `## Benchmark (${result.time})`,
    '',
    `Machine: ${machine.cpu}, ${machine.cores} cores, ${mib(machine.memory_bytes)}; Node ${versions.node}, ${versions.wrangler}; ${settings.mode} run, ${settings.duration_s} s per load phase, ${settings.event_bytes} B events.`,
    '',
    '| target | concurrency | req/s | p50 ms | p95 ms | p99 ms | non-2xx | ingest/baseline |',
    '|---|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const row of result.throughput) {
    for (const run of [row.baseline, row.ingest]) {
      const ratio = run === row.ingest ? row.ratio.toFixed(2) : '';
      lines.push(
        `| ${run.label} | ${run.connections} | ${run.rps} | ${ms(run.p50)} | ${ms(run.p95)} | ${ms(run.p99)} | ${run.non2xx} | ${ratio} |`,
      );
    }
  }
  lines.push('');
  if (result.logging?.with_request_log) {
    const { quiet, with_request_log: loud } = result.logging;
    lines.push(
      `Logging: at concurrency ${quiet.connections}, POST /events with LOG_LEVEL=warn (no per-request line) serves ${quiet.rps} req/s, p99 ${ms(quiet.p99)} ms, against ${loud.rps} req/s, p99 ${ms(loud.p99)} ms at the default LOG_LEVEL=info.`,
      '',
    );
  }
  if (result.batch) {
    const b = result.batch;
    lines.push(
      `Batch: POST /events/batch with ${b.events_per_request} events per request, concurrency ${b.connections}: ${b.rps} req/s = **${b.events_per_second} events/s**, p50 ${ms(b.p50)} ms, p99 ${ms(b.p99)} ms, ${b.non2xx} non-2xx.`,
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
  lines.push(
    `Peak memory (VmHWM of the workerd processes): system ${mib(result.memory.runtime_peak_rss_bytes)}, baseline ${mib(result.memory.baseline_runtime_peak_rss_bytes)}.`,
    '',
  );
  return lines.join('\n');
}
