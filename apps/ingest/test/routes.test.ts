import type { ErrorCode } from '@triggers/event-schema';
import { describe, expect, it } from 'vitest';
import { router } from '../src/router.ts';
import { ROUTES } from '../src/routes/index.ts';

/**
 * `ROUTES` against the code: each route documents exactly the error codes its handler can raise,
 * and the router reaches each route by its own path. The Worker's sources are bundled as text
 * (Vite's `?raw`), since the tests run inside workerd, which cannot read the repository's files.
 */
const SOURCES: Record<string, string> = Object.fromEntries(
  Object.entries(import.meta.glob('../src/**/*.ts', { query: '?raw', import: 'default', eager: true })).map(
    ([path, text]) => [path.replace('../src/', ''), text],
  ),
);

/** A top-level declaration of a source file: its name and its text, comments removed. */
interface Declaration {
  file: string;
  name: string;
  text: string;
}

const DECLARATION =
  /^(?:export\s+)?(?:async\s+)?(?:function\*?|const|let|class|type|interface)\s+([A-Za-z_$][\w$]*)/gm;
const RELATIVE_IMPORT = /^import\s+(?:type\s+)?\{([^}]*)\}\s+from\s+'(\.{1,2}\/[^']+)';/gm;
const IDENTIFIER = /(?<![\w$.])[A-Za-z_$][\w$]*/g;
const RAISED_CODE = /new ApiError\(\s*'([A-Z_]+)'/g;

const withoutComments = (text: string) =>
  text.replace(/\/\*[\s\S]*?\*\//g, ' ').replace(/(^|\s)\/\/.*$/gm, '$1');

/** `to` (`../lib/body.ts`) as seen from the file `from` (`routes/events.ts`), relative to src/. */
function resolve(from: string, to: string): string {
  const parts = from.split('/').slice(0, -1);
  for (const part of to.split('/')) {
    if (part === '..') parts.pop();
    else if (part !== '.') parts.push(part);
  }
  return parts.join('/');
}

/** Every file's top-level declarations, and what each file's relative imports name. */
function parse() {
  const declarations = new Map<string, Declaration>();
  const imports = new Map<string, Map<string, string>>();
  for (const [file, source] of Object.entries(SOURCES)) {
    const text = withoutComments(source);
    const named = new Map<string, string>();
    for (const [, names = '', from = ''] of text.matchAll(RELATIVE_IMPORT)) {
      for (const entry of names.split(',')) {
        const [imported, local = imported] = entry
          .replace(/^\s*type\s+/, '')
          .trim()
          .split(/\s+as\s+/);
        if (imported && local) named.set(local, `${resolve(file, from)}#${imported}`);
      }
    }
    imports.set(file, named);
    const starts = [...text.matchAll(DECLARATION)];
    starts.forEach((match, i) => {
      const name = match[1] as string;
      const end = starts[i + 1]?.index ?? text.length;
      declarations.set(`${file}#${name}`, { file, name, text: text.slice(match.index, end) });
    });
  }
  return { declarations, imports };
}

const { declarations, imports } = parse();

/**
 * The error codes a declaration can raise: the `new ApiError('<CODE>'` in its own text and in
 * every declaration of ours it names, followed through imports. It over-approximates (a code
 * raised inside a call whose error is caught and turned into something else still counts), so a
 * route that documents a code its handler cannot raise, or misses one it can, fails here.
 */
function raisedBy(root: Declaration): Set<ErrorCode> {
  const codes = new Set<ErrorCode>();
  const seen = new Set<Declaration>();
  const visit = (declaration: Declaration) => {
    if (seen.has(declaration)) return;
    seen.add(declaration);
    for (const [, code] of declaration.text.matchAll(RAISED_CODE)) codes.add(code as ErrorCode);
    for (const [name] of declaration.text.replaceAll('...', '   ').matchAll(IDENTIFIER)) {
      const key = imports.get(declaration.file)?.get(name) ?? `${declaration.file}#${name}`;
      const next = declarations.get(key);
      if (next !== undefined && next !== declaration) visit(next);
    }
  };
  visit(root);
  return codes;
}

describe('ROUTES: the errors each route documents', () => {
  it('finds the sources and every ApiError names its code literally, so the code can be read from them', () => {
    expect(Object.keys(SOURCES)).toContain('routes/events.ts');
    for (const [file, source] of Object.entries(SOURCES)) {
      const made = withoutComments(source).match(/new ApiError\(/g)?.length ?? 0;
      const literal = withoutComments(source).match(RAISED_CODE)?.length ?? 0;
      expect(literal, `${file}: new ApiError() with a code that is not a literal`).toBe(made);
    }
  });

  it.each(ROUTES.map((route) => [`${route.method} ${route.path}`, route] as const))(
    '%s documents exactly the codes its handler can raise',
    (_name, route) => {
      const specs = [...declarations.values()].filter((declaration) =>
        declaration.text.includes(`operationId: '${route.operationId}'`),
      );
      expect(specs.map((spec) => `${spec.file}#${spec.name}`)).toHaveLength(1);
      const raised = [...raisedBy(specs[0] as Declaration)].sort();
      expect(raised, `${route.operationId}: derived from the handler's code`).toEqual(
        [...new Set(route.errors)].sort(),
      );
    },
  );
});

describe('ROUTES: the order of the list', () => {
  it('lets the router reach every route by its own path: no path listed earlier also matches it', () => {
    for (const route of ROUTES) {
      const pathname = route.path.replaceAll(/:\w+/g, 'x');
      const first = router.routes.find(
        ([method, pattern]) => (method === route.method || method === 'ALL') && pattern.test(pathname),
      );
      expect(first?.slice(0, 1).concat(first[3]), `${route.method} ${pathname}`).toEqual([
        route.method,
        route.path,
      ]);
    }
  });
});
