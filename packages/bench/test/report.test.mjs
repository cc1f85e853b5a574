// @ts-check
// The report's end-to-end profile section (`--e2e-profile`): each Worker's top functions, or why
// there is no profile.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { toMarkdown } from '../src/report.mjs';

const run = (/** @type {object} */ e2e_profile) => ({
  time: '2026-12-07T02:12:51.681Z',
  machine: { cpu: 'AMD EPYC', cores: 2, memory_bytes: 24 * 1024 ** 3 },
  versions: { node: 'v24.21.0', wrangler: '4.164.0' },
  settings: { mode: 'full', e2e_only: true, event_bytes: 1024, local_observability: false },
  e2e_profile,
});

test("prints each profiled Worker's top functions by self time, and leaves out one with none attributed", () => {
  const markdown = toMarkdown(
    run({
      events: 20000,
      events_per_second_under_profiler: 3856,
      workers: {
        'triggers-consumer': {
          total_ms: 1561,
          not_running_ms: 3573,
          runtime_ms: 268,
          attributed_ms: 1293,
          functions: [{ name: 'runSync', where: 'index.js:12079', self_ms: 438.6, share: 0.339 }],
        },
        'triggers-ingest': { total_ms: 3, not_running_ms: 0, runtime_ms: 3, attributed_ms: 0, functions: [] },
      },
    }),
  );
  assert.match(
    markdown,
    /End-to-end profile of triggers-consumer \(one more batch run of this tree, 20000 events: 3856 events\/s/,
  );
  assert.match(
    markdown,
    /1561 ms sampled \(3573 ms more with no code running, not counted\), 268 ms of it outside JavaScript/,
  );
  assert.ok(markdown.includes('| runSync | index.js:12079 | 438.6 | 33.9 % |'));
  assert.doesNotMatch(markdown, /profile of triggers-ingest/);
});

test('says why there is no end-to-end profile', () => {
  const markdown = toMarkdown(run({ error: "no Worker found on the runtime's inspector" }));
  assert.ok(markdown.includes("End-to-end profile: none (no Worker found on the runtime's inspector)."));
});
