import * as v from 'valibot';
import type { ParameterSpec } from './parameters.ts';

/**
 * A request's query string as an object: a parameter given once maps to its value, one repeated
 * (`status=failed&status=pending`) to the list of its values. Unlike itty-router's
 * `request.query`, an empty first value is not lost when the name repeats.
 */
export function queryOf(request: Request): Record<string, string | string[]> {
  const params = new URL(request.url).searchParams;
  return Object.fromEntries(
    [...new Set(params.keys())].map((name) => {
      const values = params.getAll(name);
      return [name, values.length === 1 ? (values[0] as string) : values];
    }),
  );
}

/** For a route's query schema: a parameter it does not know is refused, not ignored. */
export const unknownParameter = (issue: v.BaseIssue<unknown>): string =>
  issue.expected === 'never' ? 'is not a recognised parameter' : 'must be a query string';

/** A parameter that may be given once (valibot sees a repeated one as a list). */
export const once = <TSchema extends v.GenericSchema<string, unknown>>(schema: TSchema) =>
  v.pipe(v.string('must be given once'), schema);

/** A parameter that may be given several times: one value or several, read as a list of them. */
export const repeatable = <TItem extends v.GenericSchema<string>>(item: TItem) =>
  v.pipe(
    v.union([v.string(), v.array(v.string())]),
    v.transform((value): string[] => (typeof value === 'string' ? [value] : value)),
    v.array(item),
  );

/** `?limit=`: a whole number from 1 to `max`, given once. */
export const limitParameter = (max: number) =>
  once(
    v.pipe(
      v.string(),
      v.digits('must be a whole number'),
      v.transform(Number),
      v.number(),
      v.integer(),
      v.minValue(1, 'must be at least 1'),
      v.maxValue(max, `must be at most ${max}`),
    ),
  );

type QuerySchema = v.StrictObjectSchema<v.ObjectEntries, v.ErrorMessage<v.StrictObjectIssue> | undefined>;

/**
 * The OpenAPI parameters of a route's query schema, one per entry, each with the description
 * its schema carries (`v.description`): what the route accepts is what the document says.
 */
export function queryParameters(schema: QuerySchema): ParameterSpec[] {
  return Object.entries(schema.entries).map(([name, entry]) => {
    const inner = 'wrapped' in entry ? (entry.wrapped as v.GenericSchema) : entry;
    return { in: 'query', name, description: v.getDescription(inner) ?? '', schema: inner };
  });
}
