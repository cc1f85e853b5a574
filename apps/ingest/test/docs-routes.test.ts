import { describe, expect, it } from 'vitest';
import api from '../../../docs/api.md?raw';
import readme from '../../../README.md?raw';
import { ROUTES } from '../src/routes/index.ts';

/**
 * The README's route table against `ROUTES`, the list the router registers and the OpenAPI
 * document describes: a route added, removed or changed fails here until the README follows.
 * The Markdown files are bundled as text (Vite's `?raw`), since the tests run inside workerd,
 * which cannot read the repository's files.
 */

/** A README route row: ``| [`POST /events`](docs/api.md#post-events) | what | yes |``. */
const ROUTE_ROW =
  /^\|\s*\[`(GET|POST|PATCH|DELETE) ([^`]+)`\]\(docs\/api\.md#([^)]+)\)\s*\|[^|]*\|\s*(yes|no)\s*\|$/;

function readmeRoutes() {
  const start = readme.indexOf('<!-- docs-tables: routes.');
  expect(start, 'the README marks its route table with <!-- docs-tables: routes.').toBeGreaterThan(-1);
  const lines = readme.slice(start).split('\n');
  const first = lines.findIndex((line) => line.startsWith('|'));
  const end = lines.findIndex((line, i) => i > first && !line.startsWith('|'));
  return lines.slice(first + 2, end).map((line) => {
    const match = ROUTE_ROW.exec(line.trim());
    expect(match, `README route row: ${line}`).not.toBeNull();
    const [, method, path, anchor, key] = match as RegExpExecArray;
    return { route: `${method} ${path}`, anchor, authenticated: key === 'yes' };
  });
}

/** The anchors GitHub gives Markdown headings: lower case, punctuation dropped, spaces as dashes. */
function headingAnchors(markdown: string): Set<string> {
  const anchors = new Set<string>();
  for (const [, text = ''] of markdown.matchAll(/^#{1,6} (.+)$/gm)) {
    anchors.add(
      text
        .toLowerCase()
        .replace(/[^\p{L}\p{N} _-]/gu, '')
        .replaceAll(' ', '-'),
    );
  }
  return anchors;
}

describe('the README route table', () => {
  const documented = readmeRoutes();

  it('lists exactly the routes of ROUTES, each with whether it needs an API key', () => {
    const registered = ROUTES.map((route) => ({
      route: `${route.method} ${route.path.replaceAll(/:(\w+)/g, '{$1}')}`,
      authenticated: route.authenticated,
    }));
    const byRoute = (a: { route: string }, b: { route: string }) => a.route.localeCompare(b.route);
    expect(documented.map(({ route, authenticated }) => ({ route, authenticated })).sort(byRoute)).toEqual(
      registered.sort(byRoute),
    );
  });

  it('links every route to its own section of docs/api.md', () => {
    const anchors = headingAnchors(api);
    for (const { route, anchor } of documented) {
      expect(anchors, `docs/api.md has a heading for ${route} (#${anchor})`).toContain(anchor);
    }
    expect(new Set(documented.map(({ anchor }) => anchor)).size).toBe(documented.length);
  });
});
