/**
 * `name: message` of a thrown value, for log lines (and the consumer's `last_error`): what an
 * operator needs to recognise the failure, without its stack.
 *
 * @example describeError(new TypeError('bad')) // 'TypeError: bad'
 */
export function describeError(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}
