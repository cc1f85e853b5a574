import { MAX_TRANSFORM_OUTPUT_BYTES, MAX_TRANSFORM_STEPS } from '@triggers/event-schema';
import jsonata from 'jsonata';

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
 * times is small in memory but not as JSON). One built-in call is not interrupted: a `$pad` to a
 * huge width or a regular expression that backtracks without end runs until the Worker's own CPU
 * and memory limits end the invocation.
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

/** Why `expression` is not a JSONata expression (its parser's code, position and message), or undefined. */
export function transformProblem(expression: string): string | undefined {
  try {
    jsonata(expression);
    return undefined;
  } catch (err) {
    return describe(err).message;
  }
}

/** `value` as JSON, or a {@link TransformLimit} once it passes `max` bytes (counted as it is written). */
function boundedJson(value: unknown, max: number): string | undefined {
  let budget = max;
  const text = JSON.stringify(value, (key, v) => {
    budget -= key.length + (typeof v === 'string' ? v.length : 4);
    if (budget < 0) throw new TransformLimit('T_OUTPUT', `the result is over ${max} bytes as JSON`);
    return v;
  });
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
    });
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
        : describe(err);
    return { code, error: message };
  }
}
