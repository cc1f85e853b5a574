/**
 * Regular expressions a subscription may run (docs/webhooks.md#regular-expressions): a filter's
 * `$regex` and a transformation's `/…/` literals. JavaScript's engine backtracks, and one `test`
 * or `exec` cannot be interrupted (a Worker's clock stands still, JSONata's step counter sees one
 * built-in call), so a pattern is judged before it runs rather than timed while it runs.
 *
 * The judgement is an upper bound on the ways the engine can try to match a string of `n`
 * characters: a sequence multiplies its parts' ways, an alternation adds its branches', a
 * quantifier `{lo,hi}` over a part with `b` ways has at most `(hi − lo + 1) · b^hi` (with `hi`
 * at most `n`), and a search not anchored by a leading `^` starts at each of `n + 1` places. A
 * nested quantifier (`(a+)+`) or a repeated alternation (`(a|aa)+`) is exponential in `n`; several
 * unbounded quantifiers in a row (`a*a*b`, `.*.*=`) are polynomial of a high degree; a run of
 * optional parts (`a?a?a?…`) is exponential in the pattern. The bound counts all of these, so a
 * pattern within {@link MAX_REGEX_PATHS} on a string of {@link REGEX_CHECKED_LENGTH} characters
 * cannot backtrack catastrophically there, whichever string it meets. It is conservative: a
 * pattern whose ways never overlap (`([a-z]+\.)+`) is refused all the same, because telling
 * overlap apart is the hard part of ReDoS analysis (see the libraries that try, and their
 * seconds-long checks); such a pattern is rewritten without the quantifier inside the repetition
 * (`[a-z.]+`).
 *
 * A string longer than {@link REGEX_CHECKED_LENGTH} is matched only while the same bound, for
 * its length, stays within {@link MAX_REGEX_PATHS} ({@link BoundedRegExp.longest}): a pattern
 * without quantifiers scans millions of characters, one with two unbounded ones a few thousand.
 * Backreferences (`\1`, `\k<name>`) are refused outright: they are rarely needed in a filter and
 * put matching outside what the bound describes.
 */

/** Longest pattern accepted, in characters (its source, without slashes or flags). */
export const MAX_REGEX_CHARS = 500;

/**
 * Most ways to try a match that a pattern may have on one string: about 15 ms of one core in the
 * worst case (V8 runs `a*a*b` unanchored on 214 `a`s, a bound of 10⁷, in 13 ms; on 1,000, a bound
 * of 10⁹, in about 160 ms).
 */
export const MAX_REGEX_PATHS = 10_000_000;

/**
 * The string length a pattern is judged on when it is accepted: every accepted pattern runs on
 * strings at least this long (`(\d+)-(\d+)`, unanchored with two unbounded quantifiers, up to 214).
 */
export const REGEX_CHECKED_LENGTH = 200;

/** A part of a pattern, as far as its number of ways to match depends on it. */
type Node =
  | { kind: 'atom' }
  | { kind: 'start' }
  | { kind: 'alternation'; branches: Node[][] }
  | { kind: 'repeat'; node: Node; lo: number; hi: number };

const ATOM: Node = { kind: 'atom' };

/** Why a pattern is refused, in words for the client (the caller adds where). */
export class RegexRefused extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = 'RegexRefused';
  }
}

/**
 * The structure of `source` (a pattern the engine has already accepted), reduced to what counts
 * for backtracking: alternations, quantifiers, a leading `^`. Throws {@link RegexRefused} for a
 * backreference.
 */
function parse(source: string): Node {
  let i = 0;

  /** An escape after `\`, at `i`: an atom, or a refusal for a backreference. */
  function escaped(): Node {
    const c = source[i] ?? '';
    if (/[1-9]/.test(c) || (c === 'k' && source[i + 1] === '<'))
      throw new RegexRefused('uses a backreference (\\1, \\k<name>), which is not supported');
    i++;
    if ((c === 'u' || c === 'p' || c === 'P') && source[i] === '{') i = source.indexOf('}', i) + 1;
    else if (c === 'u' && /^[0-9a-fA-F]{4}/.test(source.slice(i, i + 4))) i += 4;
    else if (c === 'x' && /^[0-9a-fA-F]{2}/.test(source.slice(i, i + 2))) i += 2;
    else if (c === 'c' && /[a-zA-Z]/.test(source[i] ?? '')) i++;
    return ATOM;
  }

  /** A character class, from just after `[` (nested classes of the `v` flag included). */
  function characterClass(): Node {
    let depth = 1;
    while (i < source.length && depth > 0) {
      const c = source[i++];
      if (c === '\\') i++;
      else if (c === '[') depth++;
      else if (c === ']') depth--;
    }
    return ATOM;
  }

  /** A quantifier at `i`, if one is there: `*`, `+`, `?`, `{n}`, `{n,}`, `{n,m}`, lazy or not. */
  function quantifier(): { lo: number; hi: number } | undefined {
    const c = source[i];
    let bounds: { lo: number; hi: number } | undefined;
    if (c === '*') bounds = { lo: 0, hi: Number.POSITIVE_INFINITY };
    else if (c === '+') bounds = { lo: 1, hi: Number.POSITIVE_INFINITY };
    else if (c === '?') bounds = { lo: 0, hi: 1 };
    if (bounds !== undefined) i++;
    else if (c === '{') {
      const braces = /^\{(\d+)(,(\d*))?\}/.exec(source.slice(i));
      if (braces === null) return undefined; // a literal `{` outside unicode mode
      const lo = Number(braces[1]);
      const hi =
        braces[2] === undefined ? lo : braces[3] === '' ? Number.POSITIVE_INFINITY : Number(braces[3]);
      bounds = { lo, hi };
      i += braces[0].length;
    }
    if (bounds !== undefined && source[i] === '?') i++;
    return bounds;
  }

  /** Branches separated by `|`, until `)` or the end. */
  function alternation(): Node {
    const branches: Node[][] = [[]];
    while (i < source.length && source[i] !== ')') {
      const c = source[i++];
      const branch = branches[branches.length - 1] as Node[];
      let node: Node;
      if (c === '|') {
        branches.push([]);
        continue;
      } else if (c === '\\') node = escaped();
      else if (c === '[') node = characterClass();
      else if (c === '(') {
        // (?:  (?=  (?!  (?<=  (?<!  (?<name>  (?i:  — all a group for counting.
        if (source[i] === '?') {
          const head = /^\?(<[=!]|<[^>]*>|[=!:]|[a-zA-Z-]*:)/.exec(source.slice(i));
          i += head === null ? 1 : head[0].length;
        }
        node = alternation();
        i++; // the `)`
      } else if (c === '^') node = { kind: 'start' };
      else node = ATOM;
      const bounds = quantifier();
      branch.push(bounds === undefined ? node : { kind: 'repeat', node, ...bounds });
    }
    return { kind: 'alternation', branches };
  }

  return alternation();
}

/** The most ways `node` can try to match a string of `n` characters (Infinity past any number). */
function ways(node: Node, n: number): number {
  switch (node.kind) {
    case 'atom':
    case 'start':
      return 1;
    case 'alternation':
      return node.branches.reduce((sum, branch) => sum + sequenceWays(branch, n), 0);
    case 'repeat': {
      const hi = Math.min(node.hi, n);
      const lo = Math.min(node.lo, hi);
      const each = ways(node.node, n);
      return (hi - lo + 1) * (each === 1 ? 1 : each ** hi);
    }
  }
}

const sequenceWays = (branch: readonly Node[], n: number) => branch.reduce((p, node) => p * ways(node, n), 1);

/** The bound of the whole pattern on a string of `n` characters, starting places included. */
function patternWays(root: Node, multiline: boolean, n: number): number {
  if (root.kind !== 'alternation') return ways(root, n);
  return root.branches.reduce((sum, branch) => {
    const anchored = !multiline && branch[0]?.kind === 'start';
    return sum + (anchored ? 1 : n + 1) * sequenceWays(branch, n);
  }, 0);
}

/** What is known of an accepted pattern: the longest string it may be applied to. */
interface Judged {
  longest: number;
}

/** Patterns judged already, by flags and source: a fan-out compiles the same filters again and again. */
const judged = new Map<string, Judged | RegexRefused>();
const JUDGED_KEPT = 1_000;

/**
 * Judges `source` with `flags` (already a valid pattern): its longest string, or a
 * {@link RegexRefused} saying why it may not run.
 */
function judge(source: string, flags: string): Judged | RegexRefused {
  const key = `${flags}/${source}`;
  const known = judged.get(key);
  if (known !== undefined) return known;
  let verdict: Judged | RegexRefused;
  try {
    verdict = judgeAnew(source, flags);
  } catch (err) {
    if (!(err instanceof RegexRefused)) throw err;
    verdict = err;
  }
  if (judged.size >= JUDGED_KEPT) judged.clear();
  judged.set(key, verdict);
  return verdict;
}

function judgeAnew(source: string, flags: string): Judged {
  if (source.length > MAX_REGEX_CHARS) throw new RegexRefused(`is longer than ${MAX_REGEX_CHARS} characters`);
  const root = parse(source);
  const multiline = flags.includes('m');
  if (patternWays(root, multiline, REGEX_CHECKED_LENGTH) > MAX_REGEX_PATHS)
    throw new RegexRefused(
      'could backtrack catastrophically: its quantifiers and alternatives could try over ' +
        `${MAX_REGEX_PATHS} ways to match a string of ${REGEX_CHECKED_LENGTH} characters ` +
        '(nested quantifiers such as (a+)+, a repeated alternation such as (a|b)+, or several ' +
        'unbounded quantifiers in a row); anchor it with ^, bound its quantifiers ({1,64}) or ' +
        'nest none',
    );
  // The longest string within the bound: it grows with n, so search for where it passes.
  let ok = REGEX_CHECKED_LENGTH;
  let over = MAX_REGEX_PATHS + 1;
  if (patternWays(root, multiline, MAX_REGEX_PATHS) <= MAX_REGEX_PATHS) ok = MAX_REGEX_PATHS;
  else
    while (over - ok > 1) {
      const mid = Math.floor((ok + over) / 2);
      if (patternWays(root, multiline, mid) <= MAX_REGEX_PATHS) ok = mid;
      else over = mid;
    }
  return { longest: ok };
}

/**
 * Why `source` (with `flags`) may not run as a subscription's regular expression: not a valid
 * JavaScript pattern, over {@link MAX_REGEX_CHARS} characters, a backreference, or a bound over
 * {@link MAX_REGEX_PATHS}. Undefined when it may.
 */
export function regexProblem(source: string, flags = ''): string | undefined {
  try {
    new RegExp(source, flags);
  } catch {
    return 'is not a valid regular expression';
  }
  const verdict = judge(source, flags);
  return verdict instanceof RegexRefused ? verdict.reason : undefined;
}

/**
 * A RegExp that refuses, when built, a pattern {@link regexProblem} refuses, and whose `exec`
 * (and so `test`) refuses a string longer than {@link BoundedRegExp.longest}. Both throw
 * {@link RegexRefused}. JSONata builds its regular expressions with it (its `RegexEngine` option);
 * a filter's `$regex` checks the length itself, so that a longer string does not match.
 */
export class BoundedRegExp extends RegExp {
  /** The longest string this pattern may be applied to. */
  readonly longest: number;

  constructor(pattern: string | RegExp, flags?: string) {
    super(pattern, flags);
    const verdict = judge(this.source, this.flags);
    if (verdict instanceof RegexRefused) throw new RegexRefused(`/${this.source}/ ${verdict.reason}`);
    this.longest = verdict.longest;
  }

  override exec(text: string): RegExpExecArray | null {
    if (text.length > this.longest)
      throw new RegexRefused(
        `/${this.source}/ may not be applied to a string of ${text.length} characters: ` +
          `at most ${this.longest} stay within its bound of ${MAX_REGEX_PATHS} ways to match`,
      );
    return super.exec(text);
  }
}
