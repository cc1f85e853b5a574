import { MAX_TRANSFORM_OUTPUT_BYTES, MAX_TRANSFORM_STEPS } from '@triggers/event-schema';
import jsonata from 'jsonata';
import { BoundedRegExp, RegexRefused, regexProblem } from './regex.ts';

/**
 * Subscription transformations (docs/webhooks.md#transformations): a JSONata expression over the
 * webhook's body whose result, as JSON, is what the subscriber receives and what is signed. The
 * ingest Worker checks an expression with {@link transformProblem} when a subscription is created
 * or changed; the consumer's dispatcher runs it with {@link runTransform} before each attempt. The
 * `jsonata` package evaluates without `eval` or `new Function`, so it runs in Workers.
 *
 * Bounds: a Worker's clock stands still while code runs (it moves on I/O only), so a timeout by
 * the clock would never fire there; the bound on time is a budget of evaluation steps, counted by
 * JSONata's own entry hook ({@link MAX_TRANSFORM_STEPS}), with its `stack` guard for recursion and
 * its `sequence` guard for ranges. Its `timeout` guard is set too, for runtimes whose clock moves.
 * The output is bounded twice: each step's string or array result by length, then the body by
 * {@link MAX_TRANSFORM_OUTPUT_BYTES} while it is serialized (a result that shares one object many
 * times is small in memory but not as JSON).
 *
 * One built-in call is not interrupted by any of these, so the calls that could run long or build
 * far more than they are given are bounded before they start. A regular expression (a `/…/`
 * literal, for `$match`, `$replace`, `$contains`, `$split`) is a {@link BoundedRegExp}: one that
 * could backtrack catastrophically is refused when the subscription is saved and fails the run
 * if it was stored before that rule, and one applied to a string longer than its bound allows
 * fails the run. `$pad`, `$join` and `$string` are replaced by versions that fail before building
 * a string over the output bound ({@link BOUNDED_BUILTINS}), and are the built-ins below it.
 * `$replace` builds its result by concatenation, which V8 keeps as a rope of the pieces until the
 * step's result is checked, so the output bound catches it without a copy.
 */

/** How far one run may go; tests pass smaller ones. */
export interface TransformLimits {
  steps: number;
  outputBytes: number;
  /** Deepest evaluation (JSONata's `stack` guard). */
  depth: number;
  /** Longest sequence (JSONata's `sequence` guard: `[1..n]`, `$map` results). */
  sequence: number;
  /** JSONata's own timeout by the clock, in ms (no bound in Workers: see above). */
  timeoutMs: number;
}

export const TRANSFORM_LIMITS: TransformLimits = {
  steps: MAX_TRANSFORM_STEPS,
  outputBytes: MAX_TRANSFORM_OUTPUT_BYTES,
  depth: 500,
  sequence: MAX_TRANSFORM_STEPS,
  timeoutMs: 1_000,
};

/** What a run came to: the body to deliver, or why there is none (`code` is JSONata's, or ours). */
export type TransformResult = { body: string } | { error: string; code: string };

/** A failure of ours, in JSONata's error shape so that one formatter serves both. */
class TransformLimit extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const entryHook = Symbol.for('jsonata.__evaluate_entry');
const exitHook = Symbol.for('jsonata.__evaluate_exit');

/** `T2003 at 14: …`: JSONata's code, position and message (its errors are plain objects). */
function describe(err: unknown): { code: string; message: string } {
  const e = (typeof err === 'object' && err !== null ? err : {}) as {
    code?: unknown;
    position?: unknown;
    message?: unknown;
  };
  const code = typeof e.code === 'string' ? e.code : 'T_ERROR';
  const at = typeof e.position === 'number' ? ` at ${e.position}` : '';
  const text = typeof e.message === 'string' ? e.message : String(err);
  return { code, message: `${code}${at}: ${text}`.slice(0, 300) };
}

/** The nodes of a JSONata syntax tree, each once (its nodes are plain objects and arrays). */
function* nodes(root: unknown): Generator<Record<string, unknown>> {
  const seen = new Set<unknown>();
  const stack = [root];
  while (stack.length > 0) {
    const node = stack.pop();
    if (typeof node !== 'object' || node === null || seen.has(node) || node instanceof RegExp) continue;
    seen.add(node);
    if (!Array.isArray(node)) yield node as Record<string, unknown>;
    stack.push(...Object.values(node));
  }
}

/**
 * Why an expression may not be a subscription's transformation: `reason` in our words, and
 * `quote`, the part of the expression (or JSONata's message about it) that the reason is about,
 * which a response cuts as it cuts any echo of the client's input.
 */
export interface TransformProblem {
  reason: string;
  quote?: string;
}

/** What in a parsed expression every run would refuse: an unsafe regex, a `$pad` to a literal width over `max`. */
function treeProblem(ast: unknown, max: number): TransformProblem | undefined {
  for (const node of nodes(ast)) {
    if (node.type === 'regex' && node.value instanceof RegExp) {
      const problem = regexProblem(node.value.source, node.value.flags);
      if (problem !== undefined)
        return { reason: `has a regular expression that ${problem}`, quote: `/${node.value.source}/` };
    }
    const procedure = node.procedure as { type?: unknown; value?: unknown } | undefined;
    const width = (node.arguments as Array<{ type?: unknown; value?: unknown }> | undefined)?.[1];
    if (
      node.type === 'function' &&
      procedure?.type === 'variable' &&
      procedure.value === 'pad' &&
      width?.type === 'number' &&
      Math.abs(Number(width.value)) > max
    )
      return {
        reason: `pads to a width over ${max} characters, the bound of a result ($pad at ${node.position})`,
      };
  }
  return undefined;
}

/**
 * Why `expression` may not be a subscription's transformation, or undefined: it is not JSONata
 * (quoting its parser's code, position and message), or it holds what {@link runTransform} would
 * refuse whatever the event: a regular expression that could backtrack catastrophically
 * (`regexProblem`), or a `$pad` to a literal width over {@link MAX_TRANSFORM_OUTPUT_BYTES}.
 */
export function transformProblem(expression: string): TransformProblem | undefined {
  let ast: unknown;
  try {
    ast = jsonata(expression).ast();
  } catch (err) {
    return { reason: 'is not JSONata', quote: describe(err).message };
  }
  return treeProblem(ast, MAX_TRANSFORM_OUTPUT_BYTES);
}

type Builtin = { implementation: (this: unknown, ...args: unknown[]) => unknown };
let builtins: Promise<{ string: Builtin }> | undefined;
/** JSONata's own built-ins that a bounded one calls, fetched once (by evaluating them). */
const originals = () => (builtins ??= jsonata('{"string": $string}').evaluate(null));

/** Counts code points, as JSONata's string functions do. */
const codePoints = (text: string) => Array.from(text);

/**
 * The built-ins that can build a string far larger than their arguments in one call, bounded:
 * each fails with `T_OUTPUT` before building a string over `max` characters, and returns what
 * JSONata's own does below it (test/transform.test.ts compares them).
 */
function boundedBuiltins(max: number) {
  const over = (what: string) =>
    new TransformLimit('T_OUTPUT', `${what} would build a string over ${max} long`);
  return {
    // JSONata's own joins `width` copies of the pad string, then cuts: a long pad string makes
    // that product huge. Here the copies stop at the width.
    pad: {
      signature: '<s-ns?:s>',
      implementation(text: string | undefined, width: number, fill?: string) {
        if (text === undefined) return undefined;
        const target = Math.abs(Math.trunc(width));
        if (target > max) throw over(`$pad to ${target}`);
        const missing = target - codePoints(text).length;
        if (!(missing > 0)) return text;
        const unit = fill === undefined || fill === '' ? ' ' : fill;
        const copies = Math.ceil(missing / codePoints(unit).length);
        const padding = codePoints(unit.repeat(copies)).slice(0, missing).join('');
        return width > 0 ? text + padding : padding + text;
      },
    },
    join: {
      signature: '<a<s>s?:s>',
      implementation(strings: string[] | undefined, separator = '') {
        if (strings === undefined) return undefined;
        let length = Math.max(0, strings.length - 1) * separator.length;
        for (const s of strings) length += s.length;
        if (length > max) throw over(`$join of ${strings.length} strings`);
        return strings.join(separator);
      },
    },
    // JSON of a value that shares one object many times is far larger than the value.
    string: {
      signature: '<x-b?:s>',
      async implementation(this: unknown, value: unknown, prettify?: boolean) {
        if (typeof value === 'object' && value !== null) boundedJson(value, max, prettify ? 2 : 0);
        return (await originals()).string.implementation.call(this, value, prettify);
      },
    },
  };
}

/** The built-ins {@link runTransform} replaces with bounded versions. */
export const BOUNDED_BUILTINS = ['$pad', '$join', '$string'] as const;

/** `value` as JSON, or a {@link TransformLimit} once it passes `max` bytes (counted as it is written). */
function boundedJson(value: unknown, max: number, space = 0): string | undefined {
  let budget = max;
  const text = JSON.stringify(
    value,
    (key, v) => {
      budget -= key.length + (typeof v === 'string' ? v.length : 4);
      if (budget < 0) throw new TransformLimit('T_OUTPUT', `the result is over ${max} bytes as JSON`);
      return v;
    },
    space,
  );
  if (text !== undefined && new TextEncoder().encode(text).byteLength > max)
    throw new TransformLimit('T_OUTPUT', `the result is over ${max} bytes as JSON`);
  return text;
}

/**
 * Runs `expression` over `input` (the webhook body as an object) within `limits`. Never throws:
 * a syntax error, an evaluation error, a limit passed or a result with no JSON form is
 * `{ error, code }`, for the attempt's log.
 */
export async function runTransform(
  expression: string,
  input: unknown,
  limits: TransformLimits = TRANSFORM_LIMITS,
): Promise<TransformResult> {
  try {
    const compiled = jsonata(expression, {
      stack: limits.depth,
      sequence: limits.sequence,
      timeout: limits.timeoutMs,
      // Its types name RegExp's constructor; a subclass is one.
      RegexEngine: BoundedRegExp as unknown as RegExpConstructor,
    });
    for (const [name, { implementation, signature }] of Object.entries(boundedBuiltins(limits.outputBytes)))
      compiled.registerFunction(name, implementation, signature);
    let steps = 0;
    // JSONata's hooks are bound under these symbols (its types say only strings are names).
    compiled.assign(entryHook as unknown as string, () => {
      if (++steps > limits.steps)
        throw new TransformLimit('T_STEPS', `took more than ${limits.steps} evaluation steps`);
    });
    compiled.assign(
      exitHook as unknown as string,
      (_expr: unknown, _input: unknown, _env: unknown, result: unknown) => {
        const size = typeof result === 'string' || Array.isArray(result) ? result.length : 0;
        if (size > limits.outputBytes)
          throw new TransformLimit('T_OUTPUT', `built a value over ${limits.outputBytes} long`);
      },
    );
    const result = await compiled.evaluate(input);
    const body = boundedJson(result, limits.outputBytes);
    if (body === undefined) return { code: 'T_EMPTY', error: 'T_EMPTY: the expression produced no value' };
    return { body };
  } catch (err) {
    const { code, message } =
      err instanceof TransformLimit
        ? { code: err.code, message: `${err.code}: ${err.message}` }
        : err instanceof RegexRefused
          ? { code: 'T_REGEX', message: `T_REGEX: ${err.message}`.slice(0, 300) }
          : describe(err);
    return { code, error: message };
  }
}
