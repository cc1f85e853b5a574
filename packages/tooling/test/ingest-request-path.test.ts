/**
 * `POST /events` reads as a straight line: a reader who follows its handler, from the route to the
 * queue, visits each file of `apps/ingest/src/lib/` at most twice (issue 20). And imports in
 * `apps/ingest/src` run one way: `lib/` never imports from `routes/` or `middleware/`.
 *
 * The method, static and simple: parse `routes/events.ts` with the TypeScript parser (no type
 * checker, nothing run), start at the handler `postEvent`, and list the calls it makes in the
 * order they are evaluated (arguments before the call), following calls to functions of the
 * same file (`readEvent`) as the reader would. Each call to a function imported from `lib/` is
 * recorded with its file; the walk does not go on into `lib/`. Consecutive calls into one file
 * are one visit (a run: the reader reads them together); a visit is counted each time the
 * sequence comes back to a file after another. Every branch is walked (binary, structured and
 * JSON bodies), so a single request's path visits at most what is counted. `throw` statements are
 * skipped: the path followed is the one that reaches the queue. What happens inside each lib
 * function is that function's own business, not this test's.
 */

import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { root } from '../src/local.mjs';

const SRC = join(root, 'apps', 'ingest', 'src');
const ROUTE_FILE = join(SRC, 'routes', 'events.ts');
const LIB = join(SRC, 'lib');

interface Call {
  /** The lib file called, relative to `lib/` (`body.ts`). */
  file: string;
  name: string;
}

/**
 * The file's top-level functions by name, each name it imports from a relative path with its
 * file, and every file it imports from a relative path.
 */
function readModule(path: string) {
  const source = ts.createSourceFile(path, readFileSync(path, 'utf8'), ts.ScriptTarget.Latest, true);
  const functions = new Map<string, ts.Node>();
  const imports = new Map<string, { file: string; name: string }>();
  const importedFiles: string[] = [];
  for (const statement of source.statements) {
    if (ts.isFunctionDeclaration(statement) && statement.name && statement.body) {
      functions.set(statement.name.text, statement.body);
    } else if (ts.isVariableStatement(statement)) {
      for (const declaration of statement.declarationList.declarations) {
        const init = declaration.initializer;
        if (
          ts.isIdentifier(declaration.name) &&
          init &&
          (ts.isArrowFunction(init) || ts.isFunctionExpression(init))
        ) {
          functions.set(declaration.name.text, init.body);
        }
      }
    } else if (
      ts.isImportDeclaration(statement) &&
      ts.isStringLiteral(statement.moduleSpecifier) &&
      statement.moduleSpecifier.text.startsWith('.')
    ) {
      const file = join(dirname(path), statement.moduleSpecifier.text);
      importedFiles.push(file);
      const bindings = statement.importClause?.namedBindings;
      if (bindings === undefined || !ts.isNamedImports(bindings)) continue;
      for (const element of bindings.elements) {
        imports.set(element.name.text, { file, name: (element.propertyName ?? element.name).text });
      }
    }
  }
  return { functions, imports, importedFiles };
}

/** The calls `handler` of `routes/events.ts` makes into lib/, in evaluation order (see the header). */
function libCalls(handler: string): Call[] {
  const { functions, imports } = readModule(ROUTE_FILE);
  const calls: Call[] = [];
  const followed = new Set<string>();
  const walk = (node: ts.Node): void => {
    if (ts.isThrowStatement(node)) return;
    if (!ts.isCallExpression(node)) {
      ts.forEachChild(node, walk);
      return;
    }
    walk(node.expression);
    for (const argument of node.arguments) walk(argument);
    if (!ts.isIdentifier(node.expression)) return;
    const name = node.expression.text;
    const imported = imports.get(name);
    if (imported?.file.startsWith(`${LIB}/`))
      calls.push({ file: relative(LIB, imported.file), name: imported.name });
    const local = functions.get(name);
    if (local && !followed.has(name)) {
      followed.add(name);
      walk(local);
    }
  };
  const body = functions.get(handler);
  if (body === undefined) throw new Error(`routes/events.ts has no function ${handler}`);
  followed.add(handler);
  walk(body);
  return calls;
}

/** Runs of consecutive calls into one file: `[file, names]` in order. */
function visits(calls: readonly Call[]): [string, string[]][] {
  const runs: [string, string[]][] = [];
  for (const { file, name } of calls) {
    const last = runs.at(-1);
    if (last?.[0] === file) last[1].push(name);
    else runs.push([file, [name]]);
  }
  return runs;
}

describe('POST /events, followed from its handler to the queue', () => {
  const calls = libCalls('postEvent');
  const path = visits(calls);

  it('visits each file of lib/ at most twice', () => {
    const count = new Map<string, number>();
    for (const [file] of path) count.set(file, (count.get(file) ?? 0) + 1);
    const over = [...count].filter(([, n]) => n > 2);
    expect(over, path.map(([file, names]) => `${file}: ${names.join(', ')}`).join('\n')).toEqual([]);
  });

  it('reads, validates, builds and sends, each once and in that order, and charges no events budget', () => {
    const names = calls.map((call) => call.name);
    const first = (name: string) => names.indexOf(name);
    const steps = ['readJsonBody', 'validate', 'buildEvent', 'enqueue'];
    for (const step of steps)
      expect(
        names.filter((name) => name === step),
        step,
      ).toHaveLength(1);
    expect(steps.map(first)).toEqual([...steps.map(first)].sort((a, b) => a - b));
    // The binary mode reads its body through cloudevents.ts, checking its headers first.
    expect(first('fromBinary')).toBeLessThan(first('readJsonBody'));
    expect(names).not.toContain('chargeEvents');
  });
});

describe('apps/ingest/src/lib', () => {
  it('imports nothing from routes/ or middleware/: those use lib/, never the reverse', () => {
    const upward = readdirSync(LIB)
      .filter((name) => name.endsWith('.ts'))
      .flatMap((name) =>
        readModule(join(LIB, name))
          .importedFiles.filter((file) => /^(routes|middleware)\//.test(relative(SRC, file)))
          .map((file) => `${name} -> ${relative(SRC, file)}`),
      );
    expect(upward).toEqual([]);
  });
});
