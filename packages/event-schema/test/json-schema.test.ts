import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { GEN_JSON_SCHEMA_COMMAND, JSON_SCHEMAS, publishedJsonSchema } from '../src/to-json-schema.ts';

const dir = join(import.meta.dirname, '..', 'json-schema');
const stale = (what: string) =>
  `${what}: regenerate with \`${GEN_JSON_SCHEMA_COMMAND}\` and commit json-schema/`;

describe('the published JSON Schema files', () => {
  it('are exactly the schemas JSON_SCHEMAS lists, no file missing and none left over', () => {
    const files = readdirSync(dir).sort();
    const expected = Object.keys(JSON_SCHEMAS)
      .map((name) => `${name}.json`)
      .sort();
    expect(files, stale('json-schema/ does not hold one file per published schema')).toEqual(expected);
  });

  it.each(Object.keys(JSON_SCHEMAS))('%s.json is what the valibot schemas convert to today', (name) => {
    const committed = JSON.parse(readFileSync(join(dir, `${name}.json`), 'utf8'));
    expect(committed, stale(`json-schema/${name}.json is stale`)).toEqual(publishedJsonSchema(name));
  });
});
