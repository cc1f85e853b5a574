import { describe, expect, it } from 'vitest';
import {
  BoundedRegExp,
  MAX_REGEX_CHARS,
  MAX_REGEX_PATHS,
  REGEX_CHECKED_LENGTH,
  RegexRefused,
  regexProblem,
} from '../src/index.ts';

/**
 * The regular expressions a subscription may run: judged by a bound on their ways to match
 * before they run. Their use in filters and transformations: filter.test.ts, transform.test.ts.
 */

/** Patterns of the kind filters use, and what one of their worst strings is. */
const common: Array<[string, string]> = [
  ['^order\\.(created|paid)$', 'order.'.repeat(500)],
  ['[0-9]{3}-[0-9]{4}', '123-'.repeat(500)],
  ['^order\\.', 'order'],
  ['@example\\.com$', '@example.co'.repeat(100)],
  ['^[A-Z]{2}-\\d+$', `AB-${'1'.repeat(5000)}x`],
  ['^\\w+@\\w+\\.com$', 'a'.repeat(3000)],
  ['^(\\d{1,3}\\.){3}\\d{1,3}$', '1.1.1.1.'.repeat(100)],
  ['^[a-f0-9]{8}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{12}$', 'a'.repeat(5000)],
  ['(?<year>\\d{4})-(?<month>\\d{2})', '2026-1'.repeat(500)],
  ['^.*vip.*$', 'x'.repeat(3000)],
  ['\\s+$', `${' '.repeat(3000)}x`],
  ['foo|bar|baz', 'ba'.repeat(2000)],
  ['(\\d+)-(\\d+)', '1'.repeat(300)],
];

/** Patterns that backtrack catastrophically on some string, by kind. */
const catastrophic: Array<[string, string]> = [
  ['(a+)+$', 'a nested quantifier'],
  ['(a*)*b', 'a nested quantifier'],
  ['^(\\w+\\s?)*$', 'a nested quantifier'],
  ['^([a-z0-9]+[-.])+[a-z]{2,}$', 'a nested quantifier'],
  ['(?:a{1,30}){1,30}$', 'a nested bounded quantifier'],
  ['(a|aa)+$', 'a repeated alternation'],
  ['(a|a)*$', 'a repeated alternation'],
  ['(\\w|\\d)+$', 'a repeated alternation'],
  ['a*a*a*b', 'unbounded quantifiers in a row'],
  ['.*.*=.*', 'unbounded quantifiers in a row, unanchored'],
  [`^${'a?'.repeat(30)}${'a'.repeat(30)}$`, 'a run of optional parts'],
  [`^${'(?:a|a)'.repeat(30)}b`, 'a run of alternations'],
];

describe('regexProblem', () => {
  it('accepts the common patterns of filters: anchored words, alternatives of words, bounded and single quantifiers', () => {
    for (const [pattern] of common) expect(regexProblem(pattern), pattern).toBeUndefined();
  });

  it(`refuses every pattern that could try over ${MAX_REGEX_PATHS} ways on ${REGEX_CHECKED_LENGTH} characters, saying why`, () => {
    for (const [pattern, kind] of catastrophic)
      expect(regexProblem(pattern), `${pattern}: ${kind}`).toMatch(/^could backtrack catastrophically/);
  });

  it(`refuses backreferences, a pattern over ${MAX_REGEX_CHARS} characters and an invalid one`, () => {
    expect(regexProblem('(a)\\1')).toMatch(/backreference/);
    expect(regexProblem('(?<x>a)\\k<x>')).toMatch(/backreference/);
    expect(regexProblem('a'.repeat(MAX_REGEX_CHARS))).toBeUndefined();
    expect(regexProblem('a'.repeat(MAX_REGEX_CHARS + 1))).toMatch(/longer than/);
    expect(regexProblem('(')).toBe('is not a valid regular expression');
  });

  it('counts a multiline ^ as no anchor: it matches after every newline', () => {
    expect(regexProblem('^a+b+c+$')).toBeUndefined();
    expect(regexProblem('^a+b+c+$', 'm')).toMatch(/catastrophically/);
  });
});

describe('BoundedRegExp', () => {
  it('matches as RegExp does', () => {
    const bounded = new BoundedRegExp('^order\\.(created|paid)$');
    for (const text of ['order.created', 'order.paid', 'order.shipped', 'xorder.paid'])
      expect(bounded.test(text), text).toBe(/^order\.(created|paid)$/.test(text));
    expect(new BoundedRegExp(/(\d+)-(\d+)/g).exec('a 12-34')?.slice(1)).toEqual(['12', '34']);
  });

  it('refuses to be built from a pattern regexProblem refuses', () => {
    expect(() => new BoundedRegExp('(a+)+$')).toThrow(RegexRefused);
    expect(() => new BoundedRegExp('(a+)+$')).toThrow(/^\/\(a\+\)\+\$\/ could backtrack catastrophically/);
  });

  it('refuses a string longer than its bound allows: long for a linear pattern, shorter for two unbounded quantifiers', () => {
    const linear = new BoundedRegExp('[0-9]{3}-[0-9]{4}');
    expect(linear.longest).toBeGreaterThan(1_000_000);
    const two = new BoundedRegExp('^\\w+@\\w+\\.com$');
    expect(two.longest).toBeGreaterThanOrEqual(REGEX_CHECKED_LENGTH);
    expect(two.longest).toBeLessThan(10_000);
    expect(two.test('a'.repeat(two.longest))).toBe(false);
    expect(() => two.test('a'.repeat(two.longest + 1))).toThrow(/may not be applied to a string of/);
    // Polynomial of a higher degree (V8 takes n³ steps on n digits): accepted, for short strings only.
    const cubic = new BoundedRegExp('\\d+\\d+$');
    expect(cubic.longest).toBeGreaterThanOrEqual(REGEX_CHECKED_LENGTH);
    expect(cubic.longest).toBeLessThan(two.longest);
  });

  it('runs each accepted common pattern on a worst string of its longest length in well under a second', () => {
    for (const [pattern, text] of common) {
      const bounded = new BoundedRegExp(pattern);
      const worst = text.slice(0, bounded.longest);
      const started = performance.now();
      bounded.test(worst);
      // The bound is about 10 ms of one core; 250 ms leaves room for a loaded machine.
      expect(performance.now() - started, pattern).toBeLessThan(250);
    }
  });
});
