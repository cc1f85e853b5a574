// CPU time of the processes that serve a target (wrangler and the workerd runtimes it started),
// read from /proc/<pid>/stat (utime + stime), so that a target's cost per request includes every
// process it keeps busy: the runtime's proxy, the Worker, its consumer, the local queue and D1,
// and wrangler itself (which prints the Workers' log lines). Linux only; elsewhere it reads 0.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { descendants } from '@triggers/tooling/system';

const TICKS_PER_SECOND = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** CPU milliseconds process `pid` has used (user + system), or 0 once it is gone. */
function processCpuMs(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // After the command: state is field 3, utime 14 and stime 15 (1-based, man 5 proc).
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND;
  } catch {
    return 0;
  }
}

/**
 * CPU milliseconds used so far by `server` (a started `wrangler dev`): `{ runtime }` for its
 * workerd processes, `{ total }` with wrangler's own process too.
 * @param {{ pid: number, runtimePids(): number[] }} server
 */
export function cpuMs(server) {
  const runtime = server.runtimePids().reduce((sum, pid) => sum + processCpuMs(pid), 0);
  const others = [server.pid, ...descendants(server.pid)]
    .filter((pid) => !server.runtimePids().includes(pid))
    .reduce((sum, pid) => sum + processCpuMs(pid), 0);
  return { runtime, total: runtime + others };
}

/**
 * Waits until `server` is idle: no more than `quietMs` of CPU in each of `windows` consecutive
 * windows of `windowMs` (together longer than the 1 s batch timeout, so a consumer's last batch
 * has run). Gives up after `timeoutMs`: idle work of a busy machine must not hang the run.
 * @returns the CPU milliseconds per second the idle server still used over those last windows
 *   (wrangler's and workerd's own timers), to be subtracted from a measurement as background.
 */
export async function untilIdle(
  server,
  { windowMs = 500, windows = 3, quietMs = 20, timeoutMs = 60_000 } = {},
) {
  const started = Date.now();
  const recent = [];
  let last = cpuMs(server).total;
  while (Date.now() - started < timeoutMs) {
    await new Promise((resolve) => setTimeout(resolve, windowMs));
    const now = cpuMs(server).total;
    recent.push(now - last);
    last = now;
    if (recent.length > windows) recent.shift();
    if (recent.length === windows && recent.every((used) => used <= quietMs)) break;
  }
  return recent.reduce((sum, used) => sum + used, 0) / ((recent.length * windowMs) / 1000);
}

/** Resident memory (VmRSS) of process `pid` in bytes now, or 0. */
export function currentRss(pid) {
  try {
    return Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) * 1024;
  } catch {
    return 0;
  }
}
