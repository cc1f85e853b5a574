// CPU time of the processes that serve a target (wrangler and the workerd runtimes it started;
// user + system time from /proc, through proc.mjs), so that a target's cost per request includes
// every process it keeps busy: the runtime's proxy, the Worker, its consumer, the local queue and
// D1, and wrangler itself (which prints the Workers' log lines). Linux only; elsewhere it reads 0.
import { descendants, processCpuMs, runtimePids } from './proc.mjs';

/**
 * CPU milliseconds used so far by `server` (a started `wrangler dev`): `{ runtime }` for its
 * workerd processes, `{ total }` with wrangler's own process too.
 * @param {{ pid: number }} server
 */
export function cpuMs(server) {
  const runtimes = runtimePids(server.pid);
  const runtime = runtimes.reduce((sum, pid) => sum + processCpuMs(pid), 0);
  const others = [server.pid, ...descendants(server.pid)]
    .filter((pid) => !runtimes.includes(pid))
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
