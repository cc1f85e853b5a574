/**
 * Writes `json-schema/<name>.json` for every schema in JSON_SCHEMAS (src/to-json-schema.ts) and
 * removes files no longer published. Run it as `pnpm --filter @triggers/event-schema
 * gen:json-schema` after changing a schema; test/json-schema.test.ts fails until you do.
 */
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { JSON_SCHEMAS, publishedJsonSchema } from '../src/to-json-schema.ts';

const dir = join(import.meta.dirname, '..', 'json-schema');
mkdirSync(dir, { recursive: true });
const names = Object.keys(JSON_SCHEMAS);
for (const file of readdirSync(dir)) {
  if (!names.includes(file.replace(/\.json$/, ''))) rmSync(join(dir, file));
}
for (const name of names) {
  writeFileSync(join(dir, `${name}.json`), `${JSON.stringify(publishedJsonSchema(name), null, 2)}\n`);
}
console.log(`wrote ${names.length} JSON Schemas to ${dir}`);
