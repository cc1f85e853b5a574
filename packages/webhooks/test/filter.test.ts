import { jsonDepth, MAX_FILTER_BYTES, MAX_FILTER_DEPTH } from '@triggers/event-schema';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  BoundedRegExp,
  compileFilter,
  FilterError,
  type FilterInput,
  REGEX_CHECKED_LENGTH,
  translateFilter,
} from '../src/index.ts';

/**
 * Subscription filters: Convoy's dialect checked and translated by translateFilter, matched by
 * sift. The properties generate filters from the documented grammar and check that everything the
 * validation accepts the library evaluates, without error, with each operator's documented meaning;
 * and that everything outside the grammar is refused, naming where. (The store's fan-out runs the
 * same module inside workerd: packages/event-store/test/webhooks.test.ts.)
 */

const event = (payload: unknown, extra: Partial<FilterInput> = {}): FilterInput => ({
  type: 'order.created',
  source: '/api-keys/k',
  subject: null,
  payload,
  metadata: null,
  ...extra,
});

const matches = (filter: unknown, input: FilterInput) => compileFilter(filter)(input);

/** The FilterError a filter is refused with. */
function refusal(filter: unknown): FilterError {
  try {
    translateFilter(filter);
  } catch (err) {
    if (err instanceof FilterError) return err;
    throw err;
  }
  throw new Error(`accepted: ${JSON.stringify(filter)}`);
}

describe('filter semantics', () => {
  it('a condition on a nested payload field matches by value, nested or dotted alike', () => {
    const nested = { payload: { order: { total: { $gte: 100 } } } };
    const dotted = { 'payload.order.total': { $gte: 100 } };
    for (const filter of [nested, dotted]) {
      expect(matches(filter, event({ order: { total: 150 } }))).toBe(true);
      expect(matches(filter, event({ order: { total: 100 } }))).toBe(true);
      expect(matches(filter, event({ order: { total: 99 } }))).toBe(false);
      expect(matches(filter, event({ order: {} }))).toBe(false);
      expect(matches(filter, event({ order: { total: '150' } }))).toBe(false); // a string is not a number
    }
  });

  it('takes Convoy’s spellings $neq and $exist', () => {
    expect(matches({ 'payload.status': { $neq: 'paid' } }, event({ status: 'open' }))).toBe(true);
    expect(matches({ 'payload.status': { $neq: 'paid' } }, event({ status: 'paid' }))).toBe(false);
    expect(matches({ 'payload.coupon': { $exist: true } }, event({ coupon: null }))).toBe(true);
    expect(matches({ 'payload.coupon': { $exist: true } }, event({}))).toBe(false);
    expect(matches({ 'payload.coupon': { $exist: false } }, event({}))).toBe(true);
  });

  it('matches a field of an array’s elements when any element matches, and an element by index', () => {
    const items = {
      items: [
        { sku: 'A', qty: 1 },
        { sku: 'B', qty: 5 },
      ],
    };
    expect(matches({ 'payload.items.sku': 'B' }, event(items))).toBe(true);
    expect(matches({ payload: { items: { qty: { $gt: 4 } } } }, event(items))).toBe(true);
    expect(matches({ 'payload.items.sku': 'C' }, event(items))).toBe(false);
    expect(matches({ 'payload.items.0.sku': 'A' }, event(items))).toBe(true);
    expect(matches({ 'payload.items.0.sku': 'B' }, event(items))).toBe(false);
    expect(matches({ 'payload.tags': 'vip' }, event({ tags: ['new', 'vip'] }))).toBe(true);
    expect(matches({ 'payload.tags': { $in: ['vip', 'staff'] } }, event({ tags: ['new', 'vip'] }))).toBe(
      true,
    );
    expect(matches({ 'payload.tags': { $nin: ['vip'] } }, event({ tags: ['new', 'vip'] }))).toBe(false);
    expect(matches({ 'payload.tags': { $neq: 'vip' } }, event({ tags: ['new', 'vip'] }))).toBe(false);
    expect(matches({ 'payload.tags': { $neq: 'vip' } }, event({ tags: ['new'] }))).toBe(true);
  });

  it('combines filters with $or and $and, and reads type, source, subject and metadata', () => {
    const filter = {
      type: { $regex: '^order\\.' },
      $or: [{ 'payload.total': { $gt: 1000 } }, { 'metadata.priority': 'high' }],
      $and: [{ subject: { $neq: 'test' } }],
    };
    expect(matches(filter, event({ total: 5000 }))).toBe(true);
    expect(matches(filter, event({ total: 5 }, { metadata: { priority: 'high' } }))).toBe(true);
    expect(matches(filter, event({ total: 5 }))).toBe(false);
    expect(matches(filter, event({ total: 5000 }, { type: 'user.created' }))).toBe(false);
    expect(matches(filter, event({ total: 5000 }, { subject: 'test' }))).toBe(false);
  });

  it('requires a field named twice, nested and dotted, to meet both conditions', () => {
    const filter = { 'payload.n': { $gt: 1 }, payload: { n: { $lt: 5 } } };
    expect(matches(filter, event({ n: 3 }))).toBe(true);
    expect(matches(filter, event({ n: 7 }))).toBe(false);
    expect(matches(filter, event({ n: 0 }))).toBe(false);
  });

  it('an empty filter matches every event', () => {
    expect(matches({}, event({ anything: 1 }))).toBe(true);
  });
});

describe('filter validation', () => {
  it('refuses operators that run code, and every unknown operator, naming where', () => {
    for (const [filter, path] of [
      [{ $where: 'this.payload.x > 1' }, '$where'],
      [{ $expr: { $gt: ['$payload.a', 1] } }, '$expr'],
      [{ 'payload.x': { $function: { body: 'return 1' } } }, 'payload.x.$function'],
      [{ 'payload.x': { $where: 'x' } }, 'payload.x.$where'],
      [{ payload: { x: { $gtx: 1 } } }, 'payload.x.$gtx'],
      [{ $or: [{ 'payload.x': 1 }, { 'payload.y': { $elemMatch: {} } }] }, '$or.1.payload.y.$elemMatch'],
      [{ $nor: [{ 'payload.x': 1 }] }, '$nor'],
      [{ 'payload.x': { $ne: 1 } }, 'payload.x.$ne'], // MongoDB's spelling: ours is $neq
    ] as const) {
      const error = refusal(filter);
      expect(error.path, JSON.stringify(filter)).toBe(path);
      expect(error.message).toContain(`filter.${path}`);
    }
  });

  it('refuses paths that name no field of the event, or an object’s prototype', () => {
    expect(refusal({ 'body.x': 1 }).path).toBe('body.x');
    expect(refusal({ event_id: 'x' }).path).toBe('event_id');
    expect(refusal({ payload: { __proto__x: 1, constructor: 1 } }).path).toBe('payload.constructor');
    expect(refusal({ 'payload..x': 1 }).path).toBe('payload..x');
  });

  it('refuses operands of the wrong kind, and operators where a literal is meant', () => {
    expect(refusal({ 'payload.n': { $gt: true } }).path).toBe('payload.n.$gt');
    expect(refusal({ 'payload.n': { $in: 'a' } }).path).toBe('payload.n.$in');
    expect(refusal({ 'payload.n': { $in: [{ a: 1 }] } }).path).toBe('payload.n.$in');
    expect(refusal({ 'payload.n': { $exist: 1 } }).path).toBe('payload.n.$exist');
    expect(refusal({ 'payload.n': { $regex: '(' } }).reason).toBe('is not a valid regular expression');
    expect(refusal({ 'payload.n': { $eq: { $gt: 1 } } }).path).toBe('payload.n.$eq.$gt');
    expect(refusal({ 'payload.n': { $gt: 1, x: 2 } }).path).toBe('payload.n');
    expect(refusal({ 'payload.n': {} }).path).toBe('payload.n');
    expect(refusal({ payload: { $or: [{ a: 1 }] } }).path).toBe('payload.$or');
    expect(refusal({ $or: [] }).path).toBe('$or');
    expect(refusal({ 'payload.n': { $gt: 1 }, $and: [1] }).path).toBe('$and.0');
    expect(refusal({ $eq: 1 }).path).toBe('$eq');
    expect(refusal([]).path).toBe('');
  });

  it(`refuses a filter over ${MAX_FILTER_BYTES} bytes or ${MAX_FILTER_DEPTH} levels`, () => {
    let deep: unknown = 1;
    for (let i = 0; i < MAX_FILTER_DEPTH; i++) deep = { a: deep };
    expect(refusal({ payload: deep }).reason).toMatch(/nested more than/);
    const wide = { 'payload.x': { $in: Array.from({ length: MAX_FILTER_BYTES / 4 }, (_, i) => i) } };
    expect(refusal(wide).reason).toMatch(/bytes/);
  });
});

describe('filter $regex bounds', () => {
  it('accepts common $regex patterns and matches with them as JavaScript does', () => {
    const types = { type: { $regex: '^order\\.(created|paid)$' } };
    expect(matches(types, event({}, { type: 'order.created' }))).toBe(true);
    expect(matches(types, event({}, { type: 'order.paid' }))).toBe(true);
    expect(matches(types, event({}, { type: 'order.shipped' }))).toBe(false);
    const phone = { 'payload.phone': { $regex: '[0-9]{3}-[0-9]{4}' } };
    expect(matches(phone, event({ phone: 'call 555-0199 now' }))).toBe(true);
    expect(matches(phone, event({ phone: '5550199' }))).toBe(false);
    expect(matches(phone, event({ phone: 5550199 }))).toBe(false); // a number is not a string
  });

  it('refuses a $regex that could backtrack catastrophically or uses a backreference, at its path, saying why', () => {
    for (const pattern of ['(a+)+$', '(a|aa)+$', 'a*a*a*b', '(\\w|\\d)+$']) {
      const error = refusal({ $or: [{ 'payload.name': { $regex: pattern } }] });
      expect(error.path, pattern).toBe('$or.0.payload.name.$regex');
      expect(error.reason).toMatch(/^could backtrack catastrophically/);
    }
    expect(refusal({ subject: { $regex: '(a)\\1' } }).reason).toMatch(/backreference/);
  });

  it('compileFilter refuses a filter stored with an unsafe $regex before the rule, before it runs on any event', () => {
    // The store's fan-out compiles stored filters with compileFilter and matches nothing with one
    // it refuses (packages/event-store/test/webhooks.test.ts proves it in workerd).
    expect(() => compileFilter({ 'payload.name': { $regex: '(a+)+$' } })).toThrow(FilterError);
  });

  it('a $regex does not match a string longer than its pattern’s bound allows, and matches it cut to that length', () => {
    const pattern = '^\\w+@\\w+\\.com$'; // two unbounded quantifiers: a few thousand characters
    const { longest } = new BoundedRegExp(pattern);
    expect(longest).toBeGreaterThanOrEqual(REGEX_CHECKED_LENGTH);
    const email = (length: number) => `${'a'.repeat(length - 'a@b.com'.length)}a@b.com`;
    const filter = { 'payload.email': { $regex: pattern } };
    expect(matches(filter, event({ email: email(longest) }))).toBe(true);
    expect(matches(filter, event({ email: email(longest + 1) }))).toBe(false);
  });
});

// --- properties ---------------------------------------------------------------------------------

const key = fc.constantFrom('a', 'b', 'c');
const scalar = fc.oneof(
  fc.integer({ min: -5, max: 5 }),
  fc.constantFrom('a', 'b', 'c', ''),
  fc.boolean(),
  fc.constant(null),
);
const comparable = fc.oneof(fc.integer({ min: -5, max: 5 }), fc.constantFrom('a', 'b', 'c'));
const path = fc
  .tuple(fc.constantFrom('payload', 'metadata'), fc.array(key, { minLength: 1, maxLength: 3 }))
  .map(([root, rest]) => [root, ...rest].join('.'));
const condition = fc.oneof(
  scalar,
  fc
    .record(
      {
        $eq: scalar,
        $neq: scalar,
        $gt: comparable,
        $gte: comparable,
        $lt: comparable,
        $lte: comparable,
        $in: fc.array(scalar, { maxLength: 3 }),
        $nin: fc.array(scalar, { maxLength: 3 }),
        $exist: fc.boolean(),
        $regex: fc.constantFrom('^a', 'b$', 'a|c', '.'),
      },
      { requiredKeys: [] },
    )
    .filter((c) => Object.keys(c).length > 0),
);
/** Filters from the documented grammar. */
const { filter } = fc.letrec<{ filter: Record<string, unknown> }>((tie) => ({
  filter: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.dictionary(path, condition, { maxKeys: 3 }),
    fc.record({
      $or: fc.array(tie('filter'), { minLength: 1, maxLength: 2 }),
      'payload.a': condition,
    }),
    fc.record({ $and: fc.array(tie('filter'), { minLength: 1, maxLength: 2 }) }),
  ),
}));
/** Small documents of the keys and values filters use, to match against. */
const value: fc.Arbitrary<unknown> = fc.letrec<{ v: unknown }>((tie) => ({
  v: fc.oneof(
    { depthSize: 'small' },
    scalar,
    fc.array(tie('v'), { maxLength: 3 }),
    fc.dictionary(key, tie('v'), { maxKeys: 3 }),
  ),
})).v;
const events = fc
  .record({ payload: value, metadata: value })
  .map(({ payload, metadata }) => event(payload, { metadata }));

describe('filter validation and sift agree', () => {
  it('every filter the grammar makes within the limits is accepted, and sift evaluates it on any event without error', () => {
    fc.assert(
      fc.property(filter, fc.array(events, { maxLength: 5 }), (f, inputs) => {
        const within =
          jsonDepth(f) <= MAX_FILTER_DEPTH &&
          new TextEncoder().encode(JSON.stringify(f)).byteLength <= MAX_FILTER_BYTES;
        if (!within) {
          expect(refusal(f).path).toBe('');
          return;
        }
        const test = compileFilter(f);
        for (const input of inputs) expect(typeof test(input)).toBe('boolean');
      }),
      { numRuns: 300 },
    );
  });

  it('any key starting with $ outside the documented operators is refused, naming its path', () => {
    const documented = ['$eq', '$neq', '$gt', '$gte', '$lt', '$lte', '$in', '$nin', '$exist', '$regex'];
    const stranger = fc
      .stringMatching(/^\$[a-zA-Z]{1,10}$/)
      .filter((op) => !documented.includes(op) && op !== '$or' && op !== '$and');
    fc.assert(
      fc.property(path, stranger, scalar, fc.boolean(), (p, op, operand, top) => {
        const f = top ? { [op]: [{ [p]: operand }] } : { [p]: { [op]: operand } };
        expect(refusal(f).path).toBe(top ? op : `${p}.${op}`);
      }),
    );
  });

  it('each comparison means what it says: same-kind operands compare as JavaScript does, others never match', () => {
    const compare: Record<string, (a: number | string, b: number | string) => boolean> = {
      $gt: (a, b) => a > b,
      $gte: (a, b) => a >= b,
      $lt: (a, b) => a < b,
      $lte: (a, b) => a <= b,
    };
    fc.assert(
      fc.property(
        fc.constantFrom('$gt', '$gte', '$lt', '$lte'),
        comparable,
        scalar,
        (op, operand, actual) => {
          const expected =
            typeof actual === typeof operand &&
            (compare[op] as (a: unknown, b: unknown) => boolean)(actual, operand);
          expect(matches({ 'payload.v': { [op]: operand } }, event({ v: actual }))).toBe(expected);
        },
      ),
    );
  });

  it('$eq, $neq, $in, $nin and $exist on a scalar field mean equality, its negation, membership and presence', () => {
    fc.assert(
      fc.property(
        scalar,
        fc.array(scalar, { maxLength: 4 }),
        fc.option(scalar, { nil: undefined }),
        (a, list, actual) => {
          const input = event(actual === undefined ? {} : { v: actual });
          const present = actual !== undefined;
          expect(matches({ 'payload.v': { $eq: a } }, input)).toBe(actual === a || (a === null && !present));
          expect(matches({ 'payload.v': { $neq: a } }, input)).toBe(
            !(actual === a || (a === null && !present)),
          );
          const member = list.some((x) => x === actual || (x === null && !present));
          expect(matches({ 'payload.v': { $in: list } }, input)).toBe(member);
          expect(matches({ 'payload.v': { $nin: list } }, input)).toBe(!member);
          expect(matches({ 'payload.v': { $exist: true } }, input)).toBe(present);
        },
      ),
    );
  });

  it('a nested filter and its dotted form match the same events', () => {
    fc.assert(
      fc.property(fc.array(key, { minLength: 1, maxLength: 3 }), scalar, events, (keys, operand, input) => {
        const nested = { payload: keys.reduceRight<unknown>((inner, k) => ({ [k]: inner }), operand) };
        const dotted = { [['payload', ...keys].join('.')]: operand };
        expect(matches(nested, input)).toBe(matches(dotted, input));
      }),
    );
  });
});
