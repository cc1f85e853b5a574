// @ts-check
// `pnpm bench --native-profile`: where the runtime's CPU goes during the end-to-end batch phase,
// native code included. Linux `perf` samples every thread of the system's workerd processes with
// its call stack: the Workers' isolate thread, V8's garbage collection helpers, SQLite, the local
// queue. The inspector's profiler (`--profile`) sees JavaScript frames only, so the runtime's own
// work (serializing RPC arguments, copying queue bodies, writing SQLite's WAL, page faults) lands
// on whichever JavaScript function called it, and on 2 cores it often misses its deadlines.
import { spawn, spawnSync } from 'node:child_process';

/**
 * What a sample was doing, judged on its whole stack: the first category whose pattern matches
 * any frame. The order matters: a page of SQLite's WAL written during an RPC is SQLite's.
 * @type {readonly (readonly [string, RegExp])[]}
 */
export const CATEGORIES = [
  [
    'garbage collection',
    /Heap::CollectGarbage|Scavenger|MarkCompact|ConcurrentMarking|Sweeper|MinorMarkSweep/,
  ],
  [
    'SQLite: writing the WAL, checkpoints',
    /pagerWalFrames|walWriteOneFrame|sqlite3WalCheckpoint|pagerStress/,
  ],
  ['SQLite: statements', /^sqlite3|^json[A-Z]|^btree|^vdbe/],
  ['store calls: arguments (de)serialized', /serializeJsValue|deserializeJsValue|JsRpcCallPlan/],
  ['queue: send', /WorkerQueue::send/],
  ['queue: delivery to the consumer', /QueueMessage::QueueMessage|QueueEvent::QueueEvent/],
  ['JSON.stringify', /JsonStringif/],
  ['JSON.parse', /JsonParser|JSON::Parse/],
  [
    'HTTP, sockets and the event loop',
    /Http(Server|Client|InputStream|OutputStream)|^tcp_|^sock_|^__send|^recv|epoll_wait/,
  ],
  ['JavaScript and V8', /^Builtins_|^v8::|^\[JIT\]|^0x/],
];

/** The category of samples no pattern matched. */
export const OTHER = 'other (runtime, kernel)';

/**
 * The samples of `perf script` output: each a list of frames, leaf first, symbols without their
 * `+0x…` offset (`[unknown]` frames dropped).
 * @param {string} text
 * @returns {string[][]}
 */
export function perfSamples(text) {
  /** @type {string[][]} */
  const samples = [];
  /** @type {string[] | undefined} */
  let current;
  for (const line of text.split('\n')) {
    if (line.trim() === '') {
      if (current) samples.push(current);
      current = undefined;
      continue;
    }
    // A header line (command, pid, time, event) starts a sample; its frames are indented.
    if (!/^\s/.test(line)) {
      if (current) samples.push(current);
      current = [];
      continue;
    }
    const frame = /^\s+[0-9a-f]+ (.+?)(?:\+0x[0-9a-f]+)? \(.*\)$/.exec(line)?.[1];
    if (frame !== undefined && frame !== '[unknown]') current?.push(frame);
  }
  if (current) samples.push(current);
  return samples;
}

/**
 * Shares of `samples` by {@link CATEGORIES} (each sample in exactly one), largest first, and the
 * share of samples that were in a page fault, whatever their category.
 * @param {string[][]} samples
 */
export function categorize(samples) {
  /** @type {Map<string, number>} */
  const counts = new Map();
  let pageFaults = 0;
  for (const frames of samples) {
    const category =
      CATEGORIES.find(([, pattern]) => frames.some((frame) => pattern.test(frame)))?.[0] ?? OTHER;
    counts.set(category, (counts.get(category) ?? 0) + 1);
    if (frames.some((frame) => frame.includes('exc_page_fault'))) pageFaults++;
  }
  const share = (/** @type {number} */ count) =>
    samples.length > 0 ? Number((count / samples.length).toFixed(3)) : 0;
  return {
    samples: samples.length,
    page_fault_share: share(pageFaults),
    categories: [...counts]
      .sort((a, b) => b[1] - a[1])
      .map(([category, count]) => ({ category, share: share(count) })),
  };
}

/**
 * `samples` as folded stacks (root first, `;` between frames, a count per distinct stack): what
 * flame graph tools (Brendan Gregg's flamegraph.pl, speedscope) read.
 * @param {string[][]} samples
 */
export function foldedStacks(samples) {
  /** @type {Map<string, number>} */
  const stacks = new Map();
  for (const frames of samples) {
    const key = frames
      .slice()
      .reverse()
      .map((frame) => frame.replaceAll(';', ':'))
      .join(';');
    stacks.set(key, (stacks.get(key) ?? 0) + 1);
  }
  return [...stacks].map(([stack, count]) => `${stack} ${count}`).join('\n');
}

/** Why `perf` cannot sample here, or undefined when it can. */
export function perfUnavailable() {
  const version = spawnSync('perf', ['--version'], { encoding: 'utf8' });
  if (version.error || version.status !== 0) return 'perf is not installed (Debian: linux-perf)';
  return undefined;
}

/**
 * Starts sampling the processes `pids` (and their threads) with call stacks at `frequencyHz`,
 * into `dataFile`. `stop()` ends it and answers the samples ({@link perfSamples}).
 * @param {number[]} pids
 * @param {string} dataFile
 * @param {number} frequencyHz
 */
export async function startNativeProfile(pids, dataFile, frequencyHz) {
  const record = spawn(
    'perf',
    ['record', '-F', String(frequencyHz), '-g', '-o', dataFile, '-p', pids.join(',')],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  record.stderr.on('data', (chunk) => {
    stderr += chunk;
  });
  const exited = new Promise((resolve) => record.on('exit', resolve));
  // perf attaches within a few milliseconds, or exits at once when it may not (perf_event_paranoid).
  const early = await Promise.race([
    exited,
    new Promise((resolve) => setTimeout(() => resolve('running'), 500)),
  ]);
  if (early !== 'running') throw new Error(`perf record exited: ${stderr.trim().split('\n').at(-1)}`);
  return {
    async stop() {
      record.kill('SIGINT');
      await exited;
      const script = spawnSync('perf', ['script', '-i', dataFile], {
        encoding: 'utf8',
        maxBuffer: 1 << 30,
      });
      if (script.status !== 0)
        throw new Error(`perf script failed: ${script.stderr.trim().split('\n').at(-1)}`);
      return perfSamples(script.stdout);
    },
  };
}
