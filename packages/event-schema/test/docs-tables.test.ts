import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as schema from '../src/index.ts';
import * as limits from '../src/limits.ts';

/**
 * The tables of the guides that restate this package's values (error codes, limits, queue
 * settings) are checked against the code here, so a change to either side fails until the other
 * follows. Each table is found by the `<!-- docs-tables: <name>` comment just above it.
 */

const doc = (path: string) => readFileSync(new URL(`../../../docs/${path}`, import.meta.url), 'utf8');

/** The rows of the first Markdown table after the marker, as `{ column header: cell text }`. */
function tableAfterMarker(markdown: string, name: string): Record<string, string>[] {
  const start = markdown.indexOf(`<!-- docs-tables: ${name}.`);
  if (start === -1) throw new Error(`no <!-- docs-tables: ${name}. --> marker`);
  const lines = markdown.slice(start).split('\n');
  const first = lines.findIndex((line) => line.startsWith('|'));
  const end = lines.findIndex((line, i) => i > first && !line.startsWith('|'));
  const [header, _separator, ...rows] = lines.slice(first, end === -1 ? undefined : end).map(cells);
  if (header === undefined) throw new Error(`no table after the ${name} marker`);
  return rows.map((row) => Object.fromEntries(header.map((column, i) => [column, row[i] ?? ''])));
}

/** A table row's cells, trimmed and without code backticks; `\|` is a pipe inside a cell. */
const cells = (line: string): string[] =>
  line
    .trim()
    .slice(1, -1)
    .split(/(?<!\\)\|/)
    .map((cell) => cell.replaceAll('`', '').replaceAll('\\|', '|').trim());

/** The number a cell starts with (`126,000 bytes` → 126000), or NaN. */
const leadingNumber = (cell: string): number => Number(/^[\d,.]+/.exec(cell)?.[0].replaceAll(',', '') ?? NaN);

/** An export of this package by name, `EVENT_QUEUE_CONSUMER.maxBatchSize` included. */
function exported(name: string): unknown {
  return name
    .split('.')
    .reduce<unknown>((value, key) => (value as Record<string, unknown> | undefined)?.[key], schema);
}

/** `[constant, documented value, value in the code]` of every row of a table with `constant` and `value` columns. */
const documentedValues = (rows: Record<string, string>[]) =>
  rows.map((row) => {
    const name = row.constant ?? '';
    return [name, leadingNumber(row.value ?? ''), exported(name)] as const;
  });

describe('docs/api.md error codes table', () => {
  const rows = tableAfterMarker(doc('api.md'), 'error-codes');

  it('lists every error code of ERROR_STATUS once, with its HTTP status, and no other', () => {
    const documented = rows.map((row) => [row.code, Number(row.status)] as const);
    expect(new Set(documented.map(([code]) => code)).size).toBe(documented.length);
    expect(Object.fromEntries(documented)).toEqual({ ...schema.ERROR_STATUS });
  });
});

describe('docs/api.md limits table', () => {
  const rows = tableAfterMarker(doc('api.md'), 'limits');

  it('has a row for every constant of limits.ts', () => {
    const names = rows.map((row) => row.constant);
    expect(names).toEqual(expect.arrayContaining(Object.keys(limits)));
    expect(new Set(names).size).toBe(names.length);
  });

  it('states each constant with the value it has in the code', () => {
    for (const [name, documented, actual] of documentedValues(rows)) {
      expect(typeof actual, `${name} is not a numeric export of @triggers/event-schema`).toBe('number');
      expect(documented, `docs/api.md states ${name}`).toBe(actual);
    }
  });
});

describe('docs/architecture.md queue settings table', () => {
  const rows = tableAfterMarker(doc('architecture.md'), 'queue-settings');

  it('has a row for every numeric setting of both queue consumers', () => {
    const settings = Object.entries({
      EVENT_QUEUE_CONSUMER: schema.EVENT_QUEUE_CONSUMER,
      EVENT_DLQ_CONSUMER: schema.EVENT_DLQ_CONSUMER,
    }).flatMap(([consumer, values]) =>
      Object.entries(values)
        .filter(([, value]) => typeof value === 'number')
        .map(([key]) => `${consumer}.${key}`),
    );
    expect(rows.map((row) => row.constant)).toEqual(expect.arrayContaining(settings));
  });

  it('states each setting with the value it has in the code', () => {
    for (const [name, documented, actual] of documentedValues(rows)) {
      expect(typeof actual, `${name} is not a numeric export of @triggers/event-schema`).toBe('number');
      expect(documented, `docs/architecture.md states ${name}`).toBe(actual);
    }
  });
});

describe('docs/webhooks.md operational event types table', () => {
  it('lists every operational event type once, and no other', () => {
    const rows = tableAfterMarker(doc('webhooks.md'), 'operational-event-types');
    expect(rows.map((row) => row.type).sort()).toEqual([...schema.OPERATIONAL_EVENT_TYPES].sort());
  });
});
