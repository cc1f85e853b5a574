import * as v from 'valibot';

/** At most this many problems are named; the first few are enough to find the producer's bug. */
const MAX_ISSUES = 5;

/**
 * Why a message body is not a valid QueuedEvent: each failing field and what was wrong with it,
 * without the value found there (valibot's "…received "x"" could be a piece of the payload, and
 * this text goes to logs).
 */
export function describeIssues(issues: readonly v.BaseIssue<unknown>[]): string {
  const parts = issues.slice(0, MAX_ISSUES).map((issue) => {
    const what =
      issue.received === 'undefined' ? 'is required' : issue.message.replace(/(:| but)? received .*$/is, '');
    return `${v.getDotPath(issue) ?? 'body'}: ${what}`;
  });
  const more = issues.length > MAX_ISSUES ? ` (and ${issues.length - MAX_ISSUES} more)` : '';
  return `malformed message: ${parts.join('; ')}${more}`;
}
