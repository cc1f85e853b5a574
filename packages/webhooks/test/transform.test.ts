import { MAX_TRANSFORM_OUTPUT_BYTES, MAX_TRANSFORM_STEPS } from '@triggers/event-schema';
import fc from 'fast-check';
import jsonata from 'jsonata';
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
    expect(transformProblem('{"id": payload.order.id')).toEqual({
      reason: 'is not JSONata',
      quote: expect.stringMatching(/^S0\d{3} at \d+: /),
    });
    expect(transformProblem('payload.(')?.quote).toMatch(/^S0\d{3}/);
  });

  it('refuses a regular expression that could backtrack catastrophically wherever it stands, quoting it', () => {
    for (const expression of [
      '$match(payload.order.id, /(a+)+$/)',
      '$replace(subject, /(a|aa)+$/, "x")',
      '{"x": $contains(type, /a*a*a*b/i)}',
      '($f := function($s) { $split($s, /(\\w|\\d)+$/) }; $f(type))',
    ]) {
      const problem = transformProblem(expression);
      expect(problem?.reason, expression).toMatch(
        /^has a regular expression that could backtrack catastrophically/,
      );
      expect(problem?.quote, expression).toMatch(/^\/.+\/$/);
    }
    expect(transformProblem('$match(type, /(a)\\1/)')?.reason).toMatch(/backreference/);
  });

  it('accepts common regular expressions', () => {
    expect(transformProblem('$match(type, /^order\\.(created|paid)$/)')).toBeUndefined();
    expect(transformProblem('$replace(payload.phone, /[0-9]{3}-[0-9]{4}/, "xxx-xxxx")')).toBeUndefined();
    expect(transformProblem('$split(payload.tags, /,\\s*/)')).toBeUndefined();
  });

  it(`refuses a $pad to a literal width over ${MAX_TRANSFORM_OUTPUT_BYTES}, and accepts one within`, () => {
    expect(transformProblem('$pad("", 100000000)')?.reason).toMatch(/^pads to a width over/);
    expect(transformProblem('$pad(type, -100000000, "#")')?.reason).toMatch(/^pads to a width over/);
    expect(transformProblem(`$pad(type, ${MAX_TRANSFORM_OUTPUT_BYTES})`)).toBeUndefined();
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

describe('runTransform: one built-in call is bounded', () => {
  const input = { ...body, payload: { s: 'aaaa', n: 100_000_000, long: 'a'.repeat(100_000) } };

  it('fails with T_REGEX a stored expression whose regular expression could backtrack catastrophically, one built by $eval too', async () => {
    // Stored before the rule: the API refuses it now, the run refuses it still.
    expect(await runTransform('$match(payload.s, /(a+)+$/)', input)).toMatchObject({
      code: 'T_REGEX',
      error: expect.stringContaining('could backtrack catastrophically'),
    });
    const evaluated = await runTransform('$eval("$contains(payload.s, /(a+)+$/)")', input);
    expect(evaluated).toMatchObject({ code: 'D3121', error: expect.stringContaining('catastrophically') });
  });

  it('fails with T_REGEX a regular expression applied to a string longer than its bound allows', async () => {
    const result = await runTransform('$contains(payload.long, /^\\w+@\\w+\\.com$/)', input);
    expect(result).toMatchObject({ code: 'T_REGEX', error: expect.stringContaining('string of 100000') });
    expect(await runTransform('$contains(payload.long, /b/)', input)).toEqual({ body: 'false' });
  });

  it('fails a $pad, $join or $string past the output bound with T_OUTPUT, without building the string', async () => {
    for (const expression of [
      '$pad("", payload.n)',
      '$pad(payload.s, -payload.n, "ab")',
      // 200,000 strings joined by 200,000 characters each: 4·10¹⁰ characters.
      '$join($split($pad("", 200000, "x"), ""), $pad("", 200000))',
      // 2²⁰ references to the payload: small in memory, 2²⁰ copies as JSON.
      '($d := function($o, $n) { $n = 0 ? $o : $d({"a": $o, "b": $o}, $n - 1) }; $string($d(payload, 20)))',
    ]) {
      const started = performance.now();
      expect(await runTransform(expression, input), expression).toMatchObject({
        code: 'T_OUTPUT',
        error: expect.stringContaining(String(MAX_TRANSFORM_OUTPUT_BYTES)),
      });
      expect(performance.now() - started, expression).toBeLessThan(2_000);
    }
  });

  it('a long pad string does not multiply: it is cut at the width', async () => {
    const result = await runTransform('$length($pad("", 250000, $pad("", 250000, "ab")))', input);
    expect(result).toEqual({ body: '250000' });
  });

  it('bounded $pad, $join and $string return what JSONata’s own do below the bound', async () => {
    const own = async (expression: string, data: unknown) => {
      const result = await jsonata(expression).evaluate(data);
      return result === undefined ? { code: 'T_EMPTY' } : { body: JSON.stringify(result) };
    };
    const text = fc.string({ unit: 'binary', maxLength: 8 });
    await fc.assert(
      fc.asyncProperty(
        text,
        fc.integer({ min: -30, max: 30 }),
        fc.option(text, { nil: undefined }),
        async (s, w, f) => {
          const data = { s, w, f };
          expect(await runTransform('$pad(s, w, f)', data)).toMatchObject(await own('$pad(s, w, f)', data));
        },
      ),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.array(text, { maxLength: 6 }),
        fc.option(text, { nil: undefined }),
        async (a, sep) => {
          const data = { a, sep };
          expect(await runTransform('$join(a, sep)', data)).toMatchObject(await own('$join(a, sep)', data));
        },
      ),
    );
    await fc.assert(
      fc.asyncProperty(fc.jsonValue({ maxDepth: 3 }), fc.boolean(), async (v, pretty) => {
        const data = { v, pretty };
        const expression = '$string(v, pretty)';
        expect(await runTransform(expression, data)).toMatchObject(await own(expression, data));
      }),
    );
  });
});
