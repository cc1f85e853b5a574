// @ts-check
// The native profile's reading of `perf script` output, on samples recorded with
// `perf record -g` from the system's workerd during the end-to-end batch phase.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { categorize, foldedStacks, OTHER, perfSamples } from '../src/native-profile.mjs';

const recorded = readFileSync(new URL('./fixtures/perf-script.txt', import.meta.url), 'utf8');

test('reads each recorded sample as its frames, leaf first, without offsets or unknown frames', () => {
  const samples = perfSamples(recorded);
  assert.equal(samples.length, 7);
  assert.deepEqual(samples[0], ['epoll_wait']);
  assert.equal(samples[1]?.[0], 'workerd::Worker::takeAsyncLock');
  for (const frames of samples) {
    for (const frame of frames) {
      assert.doesNotMatch(frame, /\+0x[0-9a-f]+$|^\[unknown\]$/);
    }
  }
});

test('puts every sample in one category, by the first pattern any of its frames matches', () => {
  const samples = perfSamples(recorded);
  const profile = categorize(samples);
  assert.equal(profile.samples, 7);
  const total = profile.categories.reduce((sum, { share }) => sum + share, 0);
  assert.ok(Math.abs(total - 1) < 0.01, `shares add up to ${total}`);
  assert.deepEqual(profile.categories.map(({ category }) => category).sort(), [
    'HTTP, sockets and the event loop',
    'JavaScript and V8',
    'SQLite: statements',
    'SQLite: writing the WAL, checkpoints',
    'garbage collection',
    OTHER,
    'queue: send',
  ]);
  const faulting = samples.filter((frames) => frames.includes('exc_page_fault')).length;
  assert.equal(profile.page_fault_share, Number((faulting / 7).toFixed(3)));
});

test('folds the samples root first, one line per distinct stack with its count', () => {
  const samples = perfSamples(recorded);
  const lines = foldedStacks([...samples, samples[0] ?? []]).split('\n');
  assert.equal(lines.length, 7);
  assert.equal(lines[0], 'epoll_wait 2');
  const takeLock = lines.find((line) => line.endsWith('workerd::Worker::takeAsyncLock 1'));
  assert.ok(takeLock?.startsWith('<worker::cxx_worker::CxxWorkerInterface as kj::http::Service>'), takeLock);
});
