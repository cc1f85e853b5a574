import * as v from 'valibot';
import { MAX_JSON_DEPTH } from './limits.ts';

/** Any value `JSON.parse` can return. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** A JSON object: what `payload` and `metadata` must be. */
export type JsonObject = { [key: string]: JsonValue };

/** A plain object, as `JSON.parse` makes them (arrays and null excluded). */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * Nesting depth of a parsed JSON value, counted without recursion so that a hostile
 * document cannot overflow the stack here. Stops early once `limit` is exceeded.
 */
export function jsonDepth(value: unknown, limit = Number.POSITIVE_INFINITY): number {
  let max = 0;
  const stack: Array<[unknown, number]> = [[value, 0]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop() as [unknown, number];
    if (typeof node !== 'object' || node === null) continue;
    const level = depth + 1;
    if (level > max) {
      max = level;
      if (max > limit) return max;
    }
    for (const child of Array.isArray(node) ? node : Object.values(node)) {
      if (typeof child === 'object' && child !== null) stack.push([child, level]);
    }
  }
  return max;
}

/**
 * A JSON object nested at most {@link MAX_JSON_DEPTH} levels.
 *
 * Deliberately a `custom` check rather than `v.record`: valibot's object and record
 * schemas skip keys such as `__proto__` and `constructor` when they copy the input, which
 * would silently drop those keys from a user's event. This schema passes the value through
 * untouched.
 */
export const JsonObject = v.pipe(
  v.custom<JsonObject>(isPlainObject, 'must be a JSON object'),
  v.check(
    (value) => jsonDepth(value, MAX_JSON_DEPTH) <= MAX_JSON_DEPTH,
    `must not be nested more than ${MAX_JSON_DEPTH} levels deep`,
  ),
);

/**
 * Any JSON value nested at most {@link MAX_JSON_DEPTH} levels: the payload of a stored event,
 * which for a CloudEvent is its `data`, whatever JSON it is (an array, a string, `null`…).
 */
export const JsonValue = v.pipe(
  v.custom<JsonValue>((value) => value !== undefined, 'must be a JSON value'),
  v.check(
    (value) => jsonDepth(value, MAX_JSON_DEPTH) <= MAX_JSON_DEPTH,
    `must not be nested more than ${MAX_JSON_DEPTH} levels deep`,
  ),
);
