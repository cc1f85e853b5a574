import type { FieldIssue } from '@triggers/event-schema';
import { isPlainObject } from '@triggers/event-schema';
import * as v from 'valibot';
import { echo, echoReceived } from './echo.ts';
import { ApiError } from './errors.ts';

/** 400 `VALIDATION_ERROR` listing `issues`, each with its field path. */
export const invalid = (issues: FieldIssue[]) =>
  new ApiError(
    'VALIDATION_ERROR',
    `The request is invalid: ${issues.map((i) => `${i.path || 'body'} ${i.message}`).join('; ')}.`,
    {
      details: { issues },
    },
  );

/**
 * Parses `input` with `schema`, or throws 400 `VALIDATION_ERROR` listing every problem with its
 * field path (`payload`, `metadata.source`, `query.debug`).
 */
export function validate<TSchema extends v.GenericSchema>(
  schema: TSchema,
  input: unknown,
  root?: string,
): v.InferOutput<TSchema> {
  // valibot's object schemas take an array for an object and then report its indexes as unknown
  // fields; one clear message serves the client better.
  if ((schema.type === 'strict_object' || schema.type === 'object') && !isPlainObject(input)) {
    throw invalid([{ path: root ?? '', message: 'must be a JSON object' }]);
  }
  const result = v.safeParse(schema, input);
  if (result.success) return result.output;
  const issues: FieldIssue[] = result.issues.map((issue) => {
    const path = v.getDotPath(issue);
    return {
      // A path names the client's own keys (an unknown field), so it is cut like any echo.
      path: echo([root, path].filter((part) => part !== undefined && part !== null && part !== '').join('.')),
      message: echoReceived(issue.message),
    };
  });
  throw invalid(issues);
}

/** 400 at `<root>.from` when a range's `from` is not before its `to` (both normalized already). */
export function assertOrderedRange(range: { from?: string; to?: string }, root?: string): void {
  const { from, to } = range;
  if (from === undefined || to === undefined || from < to) return;
  throw invalid([{ path: root ? `${root}.from` : 'from', message: 'must be before to' }]);
}
