#!/usr/bin/env node
// Builds the browser app into dist/, the directory the console Worker serves as static assets:
// one script (web/main.tsx and preact, bundled and minified by esbuild), one stylesheet, the page,
// its icon and _headers (the Content-Security-Policy). Prints each file's size, raw and gzipped.
import { copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

const app = join(dirname(fileURLToPath(import.meta.url)), '..');
const web = join(app, 'web');
const dist = join(app, 'dist');

rmSync(dist, { recursive: true, force: true });
mkdirSync(dist);

await build({
  entryPoints: { console: join(web, 'main.tsx') },
  outdir: dist,
  entryNames: '[name]',
  bundle: true,
  minify: true,
  format: 'esm',
  target: ['es2022', 'chrome120', 'firefox120', 'safari17'],
  jsx: 'automatic',
  jsxImportSource: 'preact',
  legalComments: 'none',
  logLevel: 'warning',
});
for (const file of ['index.html', 'favicon.svg', '_headers']) copyFileSync(join(web, file), join(dist, file));

/** Bytes of each built file, raw and gzipped (as served compressed). */
export function sizes() {
  return readdirSync(dist).map((name) => {
    const bytes = readFileSync(join(dist, name));
    return { name, bytes: statSync(join(dist, name)).size, gzip: gzipSync(bytes, { level: 9 }).length };
  });
}

const rows = sizes();
for (const { name, bytes, gzip } of rows)
  console.log(`  ${name.padEnd(12)} ${String(bytes).padStart(7)} B  ${String(gzip).padStart(6)} B gzip`);
const total = rows.reduce((sum, r) => ({ bytes: sum.bytes + r.bytes, gzip: sum.gzip + r.gzip }), {
  bytes: 0,
  gzip: 0,
});
console.log(
  `  ${'total'.padEnd(12)} ${String(total.bytes).padStart(7)} B  ${String(total.gzip).padStart(6)} B gzip`,
);
