import * as v from 'valibot';
import { describe, expect, it } from 'vitest';
import { JsonObject, jsonDepth, MAX_JSON_DEPTH } from '../src/index.ts';

const nest = (levels: number): unknown => {
  let value: unknown = {};
  for (let i = 1; i < levels; i++) value = { d: value };
  return value;
};

describe('jsonDepth', () => {
  it.each([
    [1, 0],
    ['s', 0],
    [null, 0],
    [{}, 1],
    [[], 1],
    [{ a: [1, { b: 2 }] }, 3],
  ])('counts the nesting of %j as %i', (value, depth) => {
    expect(jsonDepth(value)).toBe(depth);
  });

  it('measures a document far deeper than the call stack allows recursion', () => {
    expect(jsonDepth(nest(200_000))).toBe(200_000);
  });

  it('stops early once past the limit', () => {
    expect(jsonDepth(nest(1_000), 10)).toBe(11);
  });
});

describe('JsonObject', () => {
  it('passes the input through untouched, keeping __proto__ and constructor keys', () => {
    const input = JSON.parse('{"__proto__":{"x":1},"constructor":"c","a":[1]}');
    const output = v.parse(JsonObject, input);
    expect(output).toBe(input);
    expect(Object.keys(output)).toEqual(['__proto__', 'constructor', 'a']);
  });

  it.each([[[]], [null], ['text'], [1], [new Date()], [new Map()]])('rejects %o', (value) => {
    expect(v.is(JsonObject, value)).toBe(false);
  });

  it(`accepts ${MAX_JSON_DEPTH} levels and rejects one more`, () => {
    expect(v.is(JsonObject, nest(MAX_JSON_DEPTH))).toBe(true);
    expect(v.safeParse(JsonObject, nest(MAX_JSON_DEPTH + 1)).issues?.[0]?.message).toMatch(/nested/);
  });
});
