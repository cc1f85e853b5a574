import { ErrorEnvelope } from '@triggers/event-schema';
import { DEFAULT_KEYS, type System } from '@triggers/tooling/system';
import fc from 'fast-check';
import * as v from 'valibot';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { type HostileRequest, hostileEvent, strayRequest } from '../src/hostile.ts';
import { shouldAccept } from '../src/oracle.ts';
import { buildRequest, type RawResponse, rawRequest } from '../src/raw-http.ts';
import { suiteSystem } from '../src/shared-system.ts';

/** Requests per run; FUZZ_RUNS overrides, FUZZ_SEED replays a run. */
const RUNS = Number(process.env.FUZZ_RUNS ?? 10_000);
const SEED = Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31);
const CONCURRENCY = 8;

// The system this package's suites share, its per-key rate limit lifted (this suite sends
// thousands of requests with one key and tests the API's answers, not the limiter), with keys of
// this suite's own: the store checks below read only their events.
let system: System;
beforeAll(async () => {
  system = await suiteSystem(DEFAULT_KEYS);
}, 120_000);

interface Outcome {
  request: HostileRequest;
  response?: RawResponse;
  error?: string;
}

async function sendAll(requests: HostileRequest[]): Promise<Outcome[]> {
  const outcomes: Outcome[] = new Array(requests.length);
  let next = 0;
  const worker = async () => {
    while (next < requests.length) {
      const index = next++;
      const request = requests[index] as HostileRequest;
      try {
        const response = await rawRequest(
          system.port,
          buildRequest(request.method, request.target, request.headers, request.body),
        );
        outcomes[index] = { request, response };
      } catch (err) {
        outcomes[index] = { request, error: String(err) };
      }
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return outcomes;
}

/**
 * Answers the local runtime gives before the Worker runs, to messages that are not complete HTTP:
 * wrangler dev's proxy answers 400 to a Content-Length that is not a number, and 500 "Network
 * connection lost" when the body ends before its Content-Length. Cloudflare's edge answers those
 * itself too; the Worker never sees them. Only framing-lying requests may get them.
 */
function isRuntimeFramingAnswer({ request, response }: Outcome): boolean {
  if (request.honestLength || response === undefined || response.headers['x-correlation-id']) return false;
  return (
    (response.status === 400 && /content-length/i.test(response.body)) ||
    (response.status === 500 && response.body.startsWith('Error: Network connection lost.'))
  );
}

/** What is wrong with one response, or undefined. */
function problem(outcome: Outcome, keys: System['keys']): string | undefined {
  const { request, response, error } = outcome;
  if (error !== undefined || response === undefined) return `no response: ${error}`;
  if (isRuntimeFramingAnswer(outcome)) return undefined;
  if (response.status >= 500) return `answered ${response.status}: ${response.body.slice(0, 200)}`;
  const correlation = response.headers['x-correlation-id'];
  if (!correlation) return 'no X-Correlation-ID';
  if (response.status >= 400) {
    let body: unknown;
    try {
      body = JSON.parse(response.body);
    } catch {
      return `error body is not JSON: ${response.body.slice(0, 100)}`;
    }
    if (!v.is(ErrorEnvelope, body)) return `error body is not the envelope: ${response.body.slice(0, 200)}`;
    if (body.error.correlation_id !== correlation) return 'correlation id differs between header and body';
    if (/\bat \S+:\d+|stack|ValiError|TypeError/.test(response.body)) return 'error body leaks internals';
  }
  const accepted = response.status === 200;
  if (request.kind === 'stray')
    return accepted && request.method !== 'GET' ? 'a stray request was accepted' : undefined;
  if (!request.honestLength)
    return accepted ? 'a request with a lying Content-Length was accepted' : undefined;
  const expected = shouldAccept(request, keys);
  if (accepted !== expected)
    return `expected ${expected ? '200' : 'a 4xx'}, got ${response.status}: ${response.body.slice(0, 200)}`;
  return undefined;
}

describe(`fuzz: ${RUNS} hostile requests against the local server (seed ${SEED})`, () => {
  let outcomes: Outcome[];

  beforeAll(async () => {
    const requests = fc.sample(
      fc.oneof({ weight: 9, arbitrary: hostileEvent(system.keys) }, { weight: 1, arbitrary: strayRequest }),
      { numRuns: RUNS, seed: SEED },
    );
    outcomes = await sendAll(requests);
  }, 600_000);

  it('answers every request, never with a 5xx, always with a well-formed envelope for errors, accepting exactly what the rules accept', () => {
    const failures = outcomes
      .map((outcome) => ({ outcome, why: problem(outcome, system.keys) }))
      .filter(({ why }) => why !== undefined)
      .slice(0, 10)
      .map(
        ({ outcome, why }) =>
          `${why} <- ${outcome.request.kind} ${outcome.request.method} ${outcome.request.target.slice(0, 80)} ${JSON.stringify(outcome.request.headers).slice(0, 300)} body=${outcome.request.body.subarray(0, 120).toString('latin1')}`,
      );
    expect(failures).toEqual([]);
  });

  it('covers every kind of hostile input', () => {
    const kinds = new Set(outcomes.map(({ request }) => request.kind.split('/')[0]));
    for (const kind of [
      'valid',
      'wrong-payload-type',
      'truncated',
      'bytes',
      'huge-string',
      'deep',
      'proto-or-duplicate',
      'stray',
    ]) {
      expect(kinds).toContain(kind);
    }
    const statuses = new Set(outcomes.map(({ response }) => response?.status));
    for (const status of [200, 400, 401, 404, 405, 413, 415]) expect(statuses).toContain(status);
  });

  it('leaves only incomplete or non-HTTP messages to the runtime, and reports how many', () => {
    const runtime = outcomes.filter(isRuntimeFramingAnswer);
    console.log(
      `${outcomes.length} requests: ${outcomes.filter((o) => o.response?.status === 200).length} accepted, ` +
        `${outcomes.filter((o) => (o.response?.status ?? 0) >= 400).length - runtime.length} refused by the Worker, ` +
        `${runtime.length} framing errors answered by the runtime`,
    );
    expect(runtime.every(({ request }) => !request.honestLength)).toBe(true);
  });

  it('stores exactly the accepted events: nothing of a rejected request reached the queue', async () => {
    const accepted = new Set(
      outcomes
        .filter(({ response }) => response?.status === 200)
        .map(
          ({ response }) =>
            (JSON.parse(response?.body ?? '{}') as { data: { event_id: string } }).data.event_id,
        ),
    );
    expect(accepted.size).toBeGreaterThan(0);
    const ours = `api_key_id IN (${Object.values(system.keyIds)
      .map((id) => `'${id}'`)
      .join(', ')})`;
    // Accepted processing_error events take their 4 attempts (about 15 s) before they settle.
    const rows = await vi.waitFor(
      () => {
        const [all = []] = system.stored([`SELECT event_id, status FROM events WHERE ${ours}`]);
        const settled = all.filter((row) => row.status !== 'pending').length;
        if (settled < accepted.size) {
          throw new Error(`${settled} of the ${accepted.size} accepted events have settled`);
        }
        return all;
      },
      { timeout: 90_000, interval: 2_000 },
    );
    expect(rows.length).toBe(accepted.size);
    expect(rows.filter((row) => !accepted.has(row.event_id as string))).toEqual([]);
    // Unreadable messages belong to no key: none at all, in the whole shared system.
    const [deadLetters = []] = system.query(['SELECT count(*) AS n FROM dead_letters']);
    expect(deadLetters[0]?.n).toBe(0);
  });

  it('is still up afterwards', async () => {
    const response = await fetch(`${system.url}/health`);
    expect(response.status).toBe(200);
  });
});
