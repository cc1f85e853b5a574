// `pnpm bench --profile`: CPU profiles of the Workers under load, through the runtime's inspector
// (the DevTools protocol). wrangler's own `--inspector-port` proxies only the first Worker, so the
// Workers are reached on workerd's inspector, which lists one target per Worker
// (`core:user:<name>`) on a port workerd picks itself: found here among the runtime's listening
// sockets (Linux /proc).
import { listeningPorts, runtimePids } from './proc.mjs';

/**
 * The inspector targets of the Workers `server` (a started `wrangler dev`) runs, by Worker name:
 * ours and the runtime's helpers (the dev registry proxy, the observability collector).
 * workerd serves one session per Worker, and wrangler holds the first config's one: that Worker
 * (`first`, its name) is reached through wrangler's inspector proxy instead.
 * @param {{ pid: number, inspectorPort: number }} server
 * @param {string} first
 * @returns {Promise<Map<string, string>>} name -> webSocketDebuggerUrl
 */
export async function workerTargets(server, first) {
  const targets = await runtimeTargets(runtimePids(server.pid));
  if (targets.has(first)) targets.set(first, `ws://127.0.0.1:${server.inspectorPort}/ws`);
  return targets;
}

/** The targets workerd's own inspector lists in processes `pids`. */
async function runtimeTargets(pids) {
  const targets = new Map();
  for (const pid of pids) {
    for (const port of listeningPorts(pid)) {
      try {
        const response = await fetch(`http://127.0.0.1:${port}/json`, { signal: AbortSignal.timeout(1000) });
        if (!response.ok) continue;
        const list = await response.json();
        if (!Array.isArray(list)) continue;
        for (const target of list) {
          const name = /^core:user:(.+)$/.exec(target.id ?? '')?.[1];
          if (name) targets.set(name, target.webSocketDebuggerUrl);
        }
      } catch {}
    }
  }
  return targets;
}

/** A DevTools protocol session over one WebSocket. */
async function connect(url) {
  // wrangler's inspector proxy refuses a connection without an allowed Origin.
  const socket = new WebSocket(url, { headers: { origin: 'http://127.0.0.1' } });
  await new Promise((resolve, reject) => {
    socket.addEventListener('open', resolve, { once: true });
    socket.addEventListener('error', () => reject(new Error(`inspector ${url} refused the connection`)), {
      once: true,
    });
  });
  let next = 1;
  const pending = new Map();
  socket.addEventListener('message', (event) => {
    const message = JSON.parse(String(event.data));
    const waiter = pending.get(message.id);
    if (!waiter) return;
    pending.delete(message.id);
    if (message.error) waiter.reject(new Error(`${message.error.message} (${url})`));
    else waiter.resolve(message.result);
  });
  return {
    send(method, params = {}, timeoutMs = 30_000) {
      const id = next++;
      socket.send(JSON.stringify({ id, method, params }));
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          pending.delete(id);
          reject(new Error(`inspector ${url} did not answer ${method} within ${timeoutMs} ms`));
        }, timeoutMs);
        pending.set(id, {
          resolve: (result) => {
            clearTimeout(timer);
            resolve(result);
          },
          reject: (err) => {
            clearTimeout(timer);
            reject(err);
          },
        });
      });
    },
    close: () => socket.close(),
  };
}

/**
 * Starts the sampling profiler in each named Worker; `stop()` returns each Worker's profile
 * (the `.cpuprofile` format DevTools opens).
 * @param {Map<string, string>} targets name -> inspector URL
 */
export async function startProfiling(targets, intervalMicros = 1000) {
  const sessions = [];
  for (const [name, url] of targets) {
    // A Worker whose inspector does not answer is left out with a warning: a profile of the
    // others is still worth having, and the measured figures do not depend on it.
    let session;
    try {
      session = await connect(url);
      await session.send('Profiler.enable', {}, 30_000);
      await session.send('Profiler.setSamplingInterval', { interval: intervalMicros }, 10_000);
      await session.send('Profiler.start', {}, 10_000);
      sessions.push({ name, session });
    } catch (err) {
      session?.close();
      console.error(`[bench] --profile: ${name} left out: ${err.message}`);
    }
  }
  return {
    async stop() {
      const profiles = new Map();
      for (const { name, session } of sessions) {
        try {
          const { profile } = await session.send('Profiler.stop', {}, 60_000);
          // The isolate's JavaScript heap: how much of the process's memory is this Worker's own.
          const heap = await session.send('Runtime.getHeapUsage', {}, 10_000).catch(() => undefined);
          profiles.set(name, heap ? { ...profile, heapUsage: heap } : profile);
        } catch (err) {
          console.error(`[bench] --profile: no profile of ${name}: ${err.message}`);
        } finally {
          session.close();
        }
      }
      return profiles;
    },
  };
}

/** The most one sample counts for: 10 sampling intervals of {@link startProfiling}'s default. */
const MAX_SAMPLE_MICROS = 10_000;

/**
 * The functions of `profile` ranked by self time (time sampled while that very function ran),
 * merged by name and source location. The profiler samples the Worker's thread on the wall
 * clock: time the runtime spends outside JavaScript (its own C++ work, and waiting for a CPU on a
 * loaded machine) shows as `(program)` or as an `(anonymous)` frame without a source. Those are
 * counted apart (`runtime_ms`), and each function's `share` is of the time attributed to
 * JavaScript functions and the runtime's built-ins (`attributed_ms`).
 * @returns {{ total_ms: number, not_running_ms: number, runtime_ms: number, attributed_ms: number, functions: { name: string, where: string, self_ms: number, share: number }[] }}
 */
export function selfTimes(profile, top = 15) {
  const byNode = new Map(profile.nodes.map((node) => [node.id, node]));
  const selfMicros = new Map();
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  let gapMicros = 0;
  for (let i = 0; i < samples.length; i++) {
    // A sample's time is the gap to the next one, up to MAX_SAMPLE_MICROS: the isolate is not
    // sampled while it runs no code, so a longer gap is mostly the wait for the next request or
    // binding answer, and would otherwise all land on the last function before it (the queue send).
    const delta = deltas[i + 1] ?? 0;
    const micros = Math.min(delta, MAX_SAMPLE_MICROS);
    gapMicros += delta - micros;
    selfMicros.set(samples[i], (selfMicros.get(samples[i]) ?? 0) + micros);
  }
  const merged = new Map();
  let total = 0;
  let runtime = 0;
  for (const [id, micros] of selfMicros) {
    const frame = byNode.get(id)?.callFrame;
    if (!frame) continue;
    total += micros;
    const name = frame.functionName || '(anonymous)';
    if (
      name === '(idle)' ||
      name === '(program)' ||
      name === '(root)' ||
      (name === '(anonymous)' && !frame.url)
    ) {
      runtime += micros;
      continue;
    }
    const file = frame.url ? frame.url.replace(/^.*\/(?=[^/]+$)/, '') : '';
    const where = file ? `${file}:${frame.lineNumber + 1}` : '';
    const key = `${name} ${where}`;
    const entry = merged.get(key) ?? { name, where, micros: 0 };
    entry.micros += micros;
    merged.set(key, entry);
  }
  const attributed = total - runtime;
  const functions = [...merged.values()]
    .sort((a, b) => b.micros - a.micros)
    .slice(0, top)
    .map((entry) => ({
      name: entry.name,
      where: entry.where,
      self_ms: Math.round(entry.micros / 100) / 10,
      share: attributed > 0 ? Number((entry.micros / attributed).toFixed(3)) : 0,
    }));
  return {
    total_ms: Math.round(total / 1000),
    not_running_ms: Math.round(gapMicros / 1000),
    runtime_ms: Math.round(runtime / 1000),
    attributed_ms: Math.round(attributed / 1000),
    functions,
  };
}
