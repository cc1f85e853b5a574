import { isPlainObject, jsonDepth, MAX_FILTER_BYTES, MAX_FILTER_DEPTH } from '@triggers/event-schema';
import {
  $and,
  $eq,
  $exists,
  $gt,
  $gte,
  $in,
  $lt,
  $lte,
  $ne,
  $nin,
  $or,
  createEqualsOperation,
  createQueryTester,
} from 'sift';
import { BoundedRegExp, regexProblem } from './regex.ts';

/**
 * Subscription filters (docs/webhooks.md#filters): what a filter document may say, and whether an
 * event matches it. A filter is written in Convoy's dialect; {@link translateFilter} checks it and
 * turns it into a query for [sift](https://github.com/crcn/sift.js), which does the matching. The
 * ingest Worker checks a filter when a subscription is created or changed; the tenant's store
 * evaluates it at fan-out. Both go through {@link translateFilter}, so what is accepted is exactly
 * what is evaluated.
 *
 * sift rather than mingo: a few kilobytes in the Worker bundle where mingo is tens, and it takes
 * the table of operators it may use ({@link OPERATIONS}), so `$where` (which would compile code),
 * `$expr`, `$function` and every operator not in the table are unknown to it, not merely refused
 * by our checks in front of it.
 */

/** The operators of a condition, as a filter spells them, and sift's name for each. */
const CONDITION_OPERATORS: Readonly<Record<string, string>> = {
  $eq: '$eq',
  $neq: '$ne',
  $gt: '$gt',
  $gte: '$gte',
  $lt: '$lt',
  $lte: '$lte',
  $in: '$in',
  $nin: '$nin',
  $exist: '$exists',
  $regex: '$regex',
};
/** The operators that combine filter documents. */
const GROUP_OPERATORS = ['$or', '$and'] as const;

/**
 * `$regex` as sift's own (a string field that the pattern matches), through a
 * {@link BoundedRegExp}: a pattern {@link regexProblem} refuses never runs, and a string longer
 * than the pattern's bound allows does not match (docs/webhooks.md#regular-expressions).
 */
const $regex = (
  pattern: string,
  ownerQuery: unknown,
  options: Parameters<typeof createEqualsOperation>[2],
) => {
  const regex = new BoundedRegExp(pattern);
  const test = (value: unknown) =>
    typeof value === 'string' && value.length <= regex.longest && regex.test(value);
  return createEqualsOperation(test, ownerQuery, options);
};

/** The only operations sift is given: nothing that runs code. */
const OPERATIONS = { $eq, $ne, $gt, $gte, $lt, $lte, $in, $nin, $exists, $regex, $or, $and };

/** What a filter can name first: the fields of the event it sees ({@link FilterInput}). */
const ROOTS = ['payload', 'metadata', 'type', 'source', 'subject'] as const;

/** Path segments that would reach an object's prototype rather than the event's data. */
const FORBIDDEN_SEGMENTS = new Set(['__proto__', 'constructor', 'prototype']);

/** The event as a filter sees it. */
export interface FilterInput {
  type: string;
  source: string;
  subject: string | null;
  payload: unknown;
  metadata: unknown;
}

/** Why a filter is refused, and where: `path` is the location in the filter document. */
export class FilterError extends Error {
  constructor(
    readonly path: string,
    readonly reason: string,
  ) {
    super(`filter${path === '' ? '' : `.${path}`} ${reason}`);
    this.name = 'FilterError';
  }
}

type Query = Record<string, unknown>;

const at = (path: string, key: string | number) => (path === '' ? String(key) : `${path}.${key}`);
const isOperator = (key: string) => key.startsWith('$');
const isScalar = (value: unknown) =>
  value === null || typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean';

/** Refuses a value holding an object with a `$` key: a literal, not an operator, is meant there. */
function checkLiteral(value: unknown, path: string): void {
  const stack: Array<[unknown, string]> = [[value, path]];
  while (stack.length > 0) {
    const [node, where] = stack.pop() as [unknown, string];
    if (typeof node !== 'object' || node === null) continue;
    for (const [key, child] of Object.entries(node)) {
      if (!Array.isArray(node) && isOperator(key))
        throw new FilterError(at(where, key), 'is an operator inside a value: only a condition takes one');
      stack.push([child, at(where, key)]);
    }
  }
}

/** The sift form of one operator's operand, checked. */
function operand(op: string, value: unknown, path: string): unknown {
  switch (op) {
    case '$eq':
    case '$neq':
      checkLiteral(value, path);
      return value;
    case '$gt':
    case '$gte':
    case '$lt':
    case '$lte':
      if (typeof value === 'number' || typeof value === 'string') return value;
      throw new FilterError(path, 'must be a number or a string');
    case '$in':
    case '$nin':
      if (Array.isArray(value) && value.every(isScalar)) return value;
      throw new FilterError(path, 'must be an array of strings, numbers, booleans or nulls');
    case '$exist':
      if (typeof value === 'boolean') return value;
      throw new FilterError(path, 'must be true or false');
    case '$regex': {
      if (typeof value !== 'string') throw new FilterError(path, 'must be a regular expression, as a string');
      const problem = regexProblem(value);
      if (problem !== undefined) throw new FilterError(path, problem);
      return value;
    }
    default:
      throw new FilterError(
        path,
        `is not an operator of a condition (${Object.keys(CONDITION_OPERATORS).join(' ')})`,
      );
  }
}

/** A condition object (`{"$gte": 1, "$lt": 9}`) in sift's spelling. */
function condition(value: Query, path: string): Query {
  const out: Query = {};
  for (const [op, arg] of Object.entries(value)) {
    const name = CONDITION_OPERATORS[op];
    if (!isOperator(op))
      throw new FilterError(at(path, op), 'mixes a field with operators: nest it, or use a dotted path');
    if (name === undefined)
      throw new FilterError(
        at(path, op),
        `is not an operator of a condition (${Object.keys(CONDITION_OPERATORS).join(' ')})`,
      );
    out[name] = operand(op, arg, at(path, op));
  }
  return out;
}

/** Checks a dotted field path (`payload.order.total`) that the filter names. */
function checkField(field: string, path: string): void {
  const segments = field.split('.');
  const [root] = segments;
  if (!(ROOTS as readonly string[]).includes(root ?? ''))
    throw new FilterError(path, `names no field of the event: a path starts with ${ROOTS.join(', ')}`);
  for (const segment of segments) {
    if (segment === '') throw new FilterError(path, 'has an empty segment in its path');
    if (isOperator(segment))
      throw new FilterError(path, 'has a segment starting with $ in its path: only an operator does');
    if (FORBIDDEN_SEGMENTS.has(segment)) throw new FilterError(path, `may not name ${segment}`);
  }
}

/** Adds `field`'s condition to `out`; a field named twice (`payload.a` and `{"payload": {"a": …}}`) must meet both. */
function put(out: Query, field: string, value: unknown): void {
  if (Object.hasOwn(out, field)) out.$and = [...((out.$and as Query[]) ?? []), { [field]: value }];
  else out[field] = value;
}

/**
 * One filter document (the whole filter, or one of an `$or`/`$and`'s) as a sift query, `prefix`
 * being the field path its keys continue (Convoy's nesting: `{"payload": {"order": {"total": 5}}}`
 * is `{"payload.order.total": 5}`).
 */
function document(doc: Query, path: string, prefix: string, out: Query): Query {
  for (const [key, value] of Object.entries(doc)) {
    const where = at(path, key);
    if (isOperator(key)) {
      if (!(GROUP_OPERATORS as readonly string[]).includes(key)) {
        const hint = key in CONDITION_OPERATORS ? ': a condition goes under a field' : '';
        throw new FilterError(
          where,
          `is not an operator of a filter document (${GROUP_OPERATORS.join(' ')})${hint}`,
        );
      }
      if (prefix !== '')
        throw new FilterError(where, 'combines whole filters: use it at the top, or in another $or/$and');
      if (!Array.isArray(value) || value.length === 0)
        throw new FilterError(where, 'must be a non-empty array of filters');
      const parts = value.map((part, i) => {
        if (!isPlainObject(part)) throw new FilterError(at(where, i), 'must be an object');
        return document(part, at(where, i), '', {});
      });
      // Two groups of one kind in one document cannot both be keys: AND them.
      const name = key as (typeof GROUP_OPERATORS)[number];
      out.$and = [...((out.$and as Query[]) ?? []), ...(name === '$and' ? parts : [{ $or: parts }])];
      continue;
    }
    const field = prefix === '' ? key : `${prefix}.${key}`;
    checkField(field, where);
    if (isPlainObject(value)) {
      const keys = Object.keys(value);
      if (keys.length === 0) throw new FilterError(where, 'must hold a value or conditions, not {}');
      if (keys.every(isOperator)) put(out, field, condition(value, where));
      else if (keys.some(isOperator))
        throw new FilterError(
          where,
          'mixes fields with operators: put the operators under a field of their own',
        );
      else document(value, where, field, out);
    } else {
      checkLiteral(value, where);
      put(out, field, value);
    }
  }
  return out;
}

/**
 * The sift query of a filter document, or a {@link FilterError} naming what is wrong and where:
 * an unknown operator (`$where`, `$expr`, `$function`, `$gtx`…), a path that names no field of the
 * event, an operand of the wrong kind, a `$regex` that {@link regexProblem} refuses (it could
 * backtrack catastrophically), a filter over {@link MAX_FILTER_BYTES} bytes or
 * {@link MAX_FILTER_DEPTH} levels. A stored filter is compiled through here too, so one stored
 * under older rules is refused when it is evaluated.
 */
export function translateFilter(filter: unknown): Query {
  if (!isPlainObject(filter)) throw new FilterError('', 'must be a JSON object');
  if (jsonDepth(filter, MAX_FILTER_DEPTH) > MAX_FILTER_DEPTH)
    throw new FilterError('', `must not be nested more than ${MAX_FILTER_DEPTH} levels deep`);
  if (new TextEncoder().encode(JSON.stringify(filter)).byteLength > MAX_FILTER_BYTES)
    throw new FilterError('', `must be at most ${MAX_FILTER_BYTES} bytes as JSON`);
  return document(filter, '', '', {});
}

/** Whether an event matches; built once per filter by {@link compileFilter}. */
export type EventFilter = (event: FilterInput) => boolean;

/** The tester of a filter document (throws {@link FilterError} for one {@link translateFilter} refuses). */
export function compileFilter(filter: unknown): EventFilter {
  const test = createQueryTester<FilterInput>(translateFilter(filter), { operations: OPERATIONS });
  return (event) => test(event);
}
