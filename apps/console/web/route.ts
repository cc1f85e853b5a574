import { useEffect, useState } from 'preact/hooks';

/**
 * Views are addressed by the URL's fragment (`#/inbox`, `#/events/<id>`): the console is one
 * static page, so no path of its own can shadow an API path on the shared origin, and a
 * reload or a bookmark lands on the same view.
 */
export interface Route {
  /** The first segment: `overview`, `inbox`, `events`, … */
  view: string;
  /** The segments after it, decoded (`events/<id>` → `[id]`). */
  params: string[];
}

/** A segment decoded; one whose percent-encoding is broken (a mangled link) is taken as it is. */
function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

export function parseRoute(hash: string): Route {
  const [view = '', ...params] = hash.replace(/^#\/?/, '').split('/').map(decodeSegment);
  return { view: view === '' ? 'overview' : view, params };
}

export const href = (view: string, ...params: string[]) =>
  `#/${[view, ...params].map(encodeURIComponent).join('/')}`;

/** The current route, following the fragment. */
export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(location.hash));
  useEffect(() => {
    const update = () => setRoute(parseRoute(location.hash));
    addEventListener('hashchange', update);
    return () => removeEventListener('hashchange', update);
  }, []);
  return route;
}
