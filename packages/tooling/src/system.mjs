// Starts Workers locally with `wrangler dev`, the runtime the README's start command uses, for
// harnesses that drive them over real HTTP (benchmarks, fuzzing, end-to-end tests).
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { root, wranglerBin } from './local.mjs';

/** A TCP port that was free a moment ago. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Every process below `pid`, found through /proc (Linux only; empty elsewhere). */
export function descendants(pid) {
  let stats;
  try {
    stats = readdirSync('/proc')
      .filter((name) => /^\d+$/.test(name))
      .map((name) => {
        try {
          const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
          return { pid: Number(name), ppid: Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) };
        } catch {
          return undefined;
        }
      })
      .filter(Boolean);
  } catch {
    return [];
  }
  const found = [];
  const queue = [pid];
  while (queue.length > 0) {
    const parent = queue.shift();
    for (const proc of stats) {
      if (proc.ppid === parent) {
        found.push(proc.pid);
        queue.push(proc.pid);
      }
    }
  }
  return found;
}

/** Peak resident memory (VmHWM) of a process in bytes, or undefined. */
export function peakRss(pid) {
  try {
    const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** The process name of `pid` (`workerd`, `node`…). */
export function processName(pid) {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return undefined;
  }
}

/**
 * Runs `wrangler dev -c <configs…>` on a free port (the first config's Worker gets it) and waits
 * until it answers. `stop()` ends the whole process group.
 *
 * @param {{ configs: string[], persistTo: string, port?: number, vars?: Record<string, string>, readyPath?: string, timeoutMs?: number }} options
 */
export async function startWorkers({
  configs,
  persistTo,
  port,
  vars = {},
  readyPath = '/health',
  timeoutMs = 60_000,
}) {
  const listen = port ?? (await freePort());
  const args = [wranglerBin, 'dev', ...configs.flatMap((config) => ['-c', config])];
  args.push('--port', String(listen), '--ip', '127.0.0.1', '--persist-to', persistTo);
  args.push('--show-interactive-dev-session=false', '--inspector-port', String(await freePort()));
  for (const [name, value] of Object.entries(vars)) args.push('--var', `${name}:${value}`);
  const child = spawn(process.execPath, args, {
    cwd: root,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, WRANGLER_SEND_METRICS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false', CI: 'true' },
  });
  let output = '';
  const keep = (chunk) => {
    output = (output + chunk).slice(-200_000);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const url = `http://127.0.0.1:${listen}`;

  const stop = async () => {
    if (child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    try {
      process.kill(-child.pid, 'SIGTERM');
    } catch {}
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {}
    }, 5_000);
    await exited;
    clearTimeout(timer);
  };

  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`wrangler dev exited (${child.exitCode}):\n${output}`);
    try {
      const response = await fetch(`${url}${readyPath}`);
      await response.arrayBuffer();
      break;
    } catch {}
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`wrangler dev did not answer within ${timeoutMs} ms:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }

  return {
    url,
    pid: child.pid,
    /** The workerd processes serving the Workers. */
    runtimePids: () => descendants(child.pid).filter((pid) => processName(pid) === 'workerd'),
    output: () => output,
    stop,
  };
}
