// @ts-check
// The end-to-end batch phase for each tree under test (this one and, with a baseline, the previous
// design) and for the batch durable floor, interleaved A B F A B F ... for `reps` repetitions in
// rotating order, each on a system of its own (fresh state, so its peak memory is the phase's),
// reduced to medians and ratios.
import { batchEndToEnd, floorTarget, systemTarget } from './batch-e2e.mjs';
import { medianRun } from './load.mjs';

/**
 * @typedef {{
 *   name: string,
 *   commit: string,
 *   startSystem: typeof import('@triggers/tooling/system').startSystem,
 *   running?: import('@triggers/tooling/system').System<'e2e'>,
 * }} Tree
 * `running`: a started system with an `e2e` key to use instead of starting one (`--short` without
 * a baseline: one system start less; the peak memory is then the system's since it started).
 */

/**
 * @typedef {{ url: string, pid: number, persistTo: string, stop: () => Promise<void> }} Floor
 * @typedef {{ commit: string, start: () => Promise<Floor>, running?: Floor }} BatchFloor
 * The batch durable floor (packages/bench/floor): `start()` starts it on a fresh state; `running`,
 * one started already (`--short`), as for a tree.
 */

/** The batch floor's name in the results. */
export const BATCH_FLOOR = 'batch_floor';

/**
 * @param {Tree} tree
 * @param {{ rateLimit: number }} options
 */
async function openTree(tree, { rateLimit }) {
  const system =
    tree.running ??
    (await tree.startSystem({ rateLimit, keys: { e2e: { mode: 'test', name: 'bench e2e' } } }));
  return {
    target: systemTarget(system, system.keys.e2e, system.keyIds.e2e),
    close: tree.running ? async () => {} : () => system.stop(),
  };
}

/** @param {BatchFloor} floor */
async function openFloor(floor) {
  const started = floor.running ?? (await floor.start());
  return {
    target: floorTarget(started, started.persistTo),
    close: floor.running ? async () => {} : () => started.stop(),
  };
}

/**
 * @param {{ trees: Tree[], floor: BatchFloor, reps: number, count: number, rateLimit: number, connections: number }} options
 *   `trees[0]` is the current tree; a second one is the baseline.
 */
export async function compareEndToEnd({ trees, floor, reps, count, rateLimit, connections }) {
  const entries = [
    ...trees.map((tree) => ({
      name: tree.name,
      commit: tree.commit,
      open: () => openTree(tree, { rateLimit }),
    })),
    { name: BATCH_FLOOR, commit: floor.commit, open: () => openFloor(floor) },
  ];
  /** @type {Record<string, Awaited<ReturnType<typeof batchEndToEnd>>[]>} */
  const runs = Object.fromEntries(entries.map((entry) => [entry.name, []]));
  for (let rep = 0; rep < reps; rep++) {
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[(i + rep) % entries.length];
      if (entry === undefined) continue;
      console.error(
        `[bench] end to end (batch), repetition ${rep + 1}/${reps}: ${entry.name} (${entry.commit.slice(0, 12)})`,
      );
      const { target, close } = await entry.open();
      try {
        runs[entry.name]?.push(await batchEndToEnd({ target, count, connections }));
      } finally {
        await close();
      }
    }
  }
  const medians = Object.fromEntries(entries.map((entry) => [entry.name, medianRun(runs[entry.name])]));
  /**
   * `a / b` for the figures the report compares, or undefined without both.
   * @param {Record<string, number> | undefined} a
   * @param {Record<string, number> | undefined} b
   */
  const ratios = (a, b) =>
    a && b
      ? Object.fromEntries(
          ['events_per_second', 'workerd_cpu_ms_per_event', 'peak_rss_bytes'].map((figure) => [
            figure,
            b[figure] ? Number(((a[figure] ?? 0) / (b[figure] ?? 1)).toFixed(3)) : undefined,
          ]),
        )
      : undefined;
  const [current, baseline] = trees.map((tree) => medians[tree.name]);
  return {
    events: count,
    repetitions: reps,
    trees: trees.map(({ name, commit }) => ({ name, commit })),
    batch_floor: { name: BATCH_FLOOR, commit: floor.commit },
    // --short: on the system (and floors' Worker) the other phases ran on (its peak memory is then theirs too).
    shared_system: trees.some((tree) => tree.running !== undefined),
    medians,
    ...(baseline ? { current_over_baseline: ratios(current, baseline) } : {}),
    // Each tree over the batch durable floor: how far from the least any design could do here.
    over_batch_floor: Object.fromEntries(
      trees.map((tree) => [tree.name, ratios(medians[tree.name], medians[BATCH_FLOOR])]),
    ),
    runs,
  };
}
