import { MAX_TRANSFORM_OUTPUT_BYTES, MAX_TRANSFORM_STEPS } from '@triggers/event-schema';
import { describe, expect, it } from 'vitest';
import { runTransform, TRANSFORM_LIMITS, transformProblem } from '../src/index.ts';

/**
 * Transformations: JSONata over the webhook body, bounded in steps and output. The dispatcher's
 * use of it (the body signed and delivered, a failure in the attempts log) is tested in
 * apps/consumer/test/delivery.test.ts and end to end in packages/system-tests.
 */

const body = {
  event_id: '6f1c2d1e-0000-4000-8000-000000000000',
  type: 'order.created',
  source: '/api-keys/k',
  subject: null,
  timestamp: '2026-12-05T10:00:00.000Z',
  payload: {
    order: {
      id: 'o-1',
      total: 150,
      lines: [
        { sku: 'A', qty: 2 },
        { sku: 'B', qty: 1 },
      ],
    },
  },
  metadata: { channel: 'web' },
};

describe('transformProblem', () => {
  it('accepts an expression and names the code and position of a syntax error', () => {
    expect(transformProblem('{"id": payload.order.id, "skus": payload.order.lines.sku}')).toBeUndefined();
    expect(transformProblem('{"id": payload.order.id')).toMatch(/^S0\d{3} at \d+: /);
    expect(transformProblem('payload.(')).toMatch(/^S0\d{3}/);
  });
});

describe('runTransform', () => {
  it('maps the event to the JSON its expression builds', async () => {
    const result = await runTransform(
      '{"order": payload.order.id, "skus": payload.order.lines.sku, "items": $sum(payload.order.lines.qty), "kind": type}',
      body,
    );
    expect(result).toEqual({
      body: JSON.stringify({ order: 'o-1', skus: ['A', 'B'], items: 3, kind: 'order.created' }),
    });
    expect(await runTransform('payload.order.total * 2', body)).toEqual({ body: '300' });
  });

  it('fails, with JSONata’s code and message, on an evaluation error', async () => {
    const result = await runTransform('$number(payload.order.id)', body);
    expect(result).toMatchObject({ code: 'D3030' });
    expect('error' in result && result.error).toMatch(/^D3030 at \d+: /);
    expect(await runTransform('$error("refused by the expression")', body)).toMatchObject({
      code: 'D3137',
      error: expect.stringContaining('refused by the expression'),
    });
  });

  it('fails when the expression produces nothing (a path that is not there)', async () => {
    expect(await runTransform('payload.nothing.here', body)).toMatchObject({ code: 'T_EMPTY' });
  });

  it(`stops a run past ${MAX_TRANSFORM_STEPS} steps: an endless recursion and a long loop`, async () => {
    const endless = '($f := function($x) { $f($x + 1) }; $f(0))';
    const forever = await runTransform(endless, body);
    expect(forever).toMatchObject({ code: expect.stringMatching(/^(T_STEPS|D1011)$/) });
    const loop = await runTransform('$sum($map([1..50000], function($v) { $v * 2 }))', body);
    expect(loop).toMatchObject({
      code: 'T_STEPS',
      error: expect.stringContaining(String(MAX_TRANSFORM_STEPS)),
    });
    // The same loop within a larger budget completes: the steps, not the expression, stopped it.
    const roomy = { ...TRANSFORM_LIMITS, steps: 10 * MAX_TRANSFORM_STEPS, sequence: 1_000_000 };
    expect(await runTransform('$sum($map([1..50000], function($v) { $v * 2 }))', body, roomy)).toEqual({
      body: String(50000 * 50001),
    });
  });

  it(`stops a result over ${MAX_TRANSFORM_OUTPUT_BYTES} bytes, also one that repeats a shared object`, async () => {
    const doubling =
      '($s := "xxxxxxxxxxxxxxxx"; $d := function($t, $n) { $n = 0 ? $t : $d($t & $t, $n - 1) }; $d($s, 20))';
    expect(await runTransform(doubling, body)).toMatchObject({ code: 'T_OUTPUT' });
    // 2^20 copies of the payload by reference: little memory, far too much JSON.
    const shared =
      '($d := function($o, $n) { $n = 0 ? $o : $d({"a": $o, "b": $o}, $n - 1) }; $d(payload, 20))';
    expect(await runTransform(shared, body)).toMatchObject({ code: 'T_OUTPUT' });
  });

  it('fails a syntax error at run time too, never throws', async () => {
    expect(await runTransform('{', body)).toMatchObject({ code: expect.stringMatching(/^S0/) });
  });
});
