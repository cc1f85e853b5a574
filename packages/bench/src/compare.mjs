// @ts-check
// The end-to-end batch phase for each tree under test (this one and, with a baseline, the previous
// design), interleaved A B A B ... for `reps` repetitions in rotating order, each on a system of
// its own (fresh state, so its peak memory is the phase's), reduced to medians and ratios.
import { batchEndToEnd } from './batch-e2e.mjs';
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
 * @param {{ trees: Tree[], reps: number, count: number, rateLimit: number, connections: number }} options
 *   `trees[0]` is the current tree; a second one is the baseline.
 */
export async function compareEndToEnd({ trees, reps, count, rateLimit, connections }) {
  /** @type {Record<string, Awaited<ReturnType<typeof batchEndToEnd>>[]>} */
  const runs = Object.fromEntries(trees.map((tree) => [tree.name, []]));
  for (let rep = 0; rep < reps; rep++) {
    for (let i = 0; i < trees.length; i++) {
      const tree = trees[(i + rep) % trees.length];
      if (tree === undefined) continue;
      console.error(
        `[bench] end to end (batch), repetition ${rep + 1}/${reps}: ${tree.name} (${tree.commit.slice(0, 12)})`,
      );
      const system =
        tree.running ??
        (await tree.startSystem({ rateLimit, keys: { e2e: { mode: 'test', name: 'bench e2e' } } }));
      try {
        const run = await batchEndToEnd({
          system,
          key: system.keys.e2e,
          apiKeyId: system.keyIds.e2e,
          count,
          connections,
        });
        runs[tree.name]?.push(run);
      } finally {
        if (!tree.running) await system.stop();
      }
    }
  }
  const medians = Object.fromEntries(trees.map((tree) => [tree.name, medianRun(runs[tree.name])]));
  const [current, baseline] = trees.map((tree) => medians[tree.name]);
  /** @param {string} figure */
  const ratio = (figure) =>
    current && baseline?.[figure] ? Number((current[figure] / baseline[figure]).toFixed(3)) : undefined;
  return {
    events: count,
    repetitions: reps,
    trees: trees.map(({ name, commit }) => ({ name, commit })),
    // --short: on the system the other phases ran on (its peak memory is then theirs too).
    shared_system: trees.some((tree) => tree.running !== undefined),
    medians,
    ...(baseline
      ? {
          current_over_baseline: {
            events_per_second: ratio('events_per_second'),
            workerd_cpu_ms_per_event: ratio('workerd_cpu_ms_per_event'),
            peak_rss_bytes: ratio('peak_rss_bytes'),
          },
        }
      : {}),
    runs,
  };
}
