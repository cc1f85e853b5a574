// @ts-check
// What the bench reads about the processes serving a target (a `wrangler dev` and the workerd
// runtimes it started) from Linux's /proc: which they are, their CPU time, their memory and the
// ports they listen on. Linux only: elsewhere every probe answers empty or 0, so the bench still
// runs and reports zeros.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

/**
 * The first group of `pattern` in /proc/<pid>/<file>, or `undefined`.
 * @param {number} pid
 * @param {string} file
 * @param {RegExp} pattern
 */
function procField(pid, file, pattern) {
  try {
    return pattern.exec(readFileSync(`/proc/${pid}/${file}`, 'utf8'))?.[1];
  } catch {
    return undefined;
  }
}

/**
 * The fields of /proc/<pid>/stat after the command (which may hold spaces), or `undefined`.
 * @param {number | string} pid
 */
function statFields(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/**
 * Every process below `pid`.
 * @param {number} pid
 * @returns {number[]}
 */
export function descendants(pid) {
  /** @type {Map<number, number>} */
  const parents = new Map();
  try {
    for (const name of readdirSync('/proc')) {
      if (!/^\d+$/.test(name)) continue;
      // After the command: state, then the parent's pid (man 5 proc).
      const ppid = statFields(name)?.[1];
      if (ppid !== undefined) parents.set(Number(name), Number(ppid));
    }
  } catch {
    return [];
  }
  const found = [];
  const queue = [pid];
  for (let parent = queue.shift(); parent !== undefined; parent = queue.shift()) {
    for (const [child, ppid] of parents) {
      if (ppid === parent) {
        found.push(child);
        queue.push(child);
      }
    }
  }
  return found;
}

/**
 * The workerd processes a `wrangler dev` whose process is `pid` started: those serving its Workers.
 * @param {number} pid
 */
export function runtimePids(pid) {
  return descendants(pid).filter((child) => procField(child, 'comm', /^(\S+)/) === 'workerd');
}

const TICKS_PER_SECOND = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/**
 * CPU milliseconds process `pid` has used (user + system), or 0 once it is gone.
 * @param {number} pid
 */
export function processCpuMs(pid) {
  const fields = statFields(pid);
  if (fields === undefined) return 0;
  // After the command: utime and stime are fields 14 and 15 of the line (1-based, man 5 proc).
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND;
}

/**
 * Peak resident memory (VmHWM) of process `pid` in bytes, or 0.
 * @param {number} pid
 */
export function peakRss(pid) {
  return Number(procField(pid, 'status', /VmHWM:\s+(\d+) kB/) ?? 0) * 1024;
}

/**
 * Resident memory (VmRSS) of process `pid` in bytes now, or 0.
 * @param {number} pid
 */
export function currentRss(pid) {
  return Number(procField(pid, 'status', /VmRSS:\s+(\d+) kB/) ?? 0) * 1024;
}

/**
 * TCP ports process `pid` listens on.
 * @param {number} pid
 * @returns {number[]}
 */
export function listeningPorts(pid) {
  const inodes = new Set();
  try {
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      try {
        const match = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
        if (match) inodes.add(match[1]);
      } catch {}
    }
  } catch {
    return [];
  }
  const ports = [];
  for (const table of ['tcp', 'tcp6']) {
    let text = '';
    try {
      text = readFileSync(`/proc/net/${table}`, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      // state 0A = LISTEN
      if (cols[3] === '0A' && inodes.has(cols[9]))
        ports.push(Number.parseInt(cols[1]?.split(':')[1] ?? '', 16));
    }
  }
  return ports;
}
