import { type OpenApiDocument, openApiDocument, type RouteSpec } from '../lib/openapi.ts';
import { json } from '../lib/responses.ts';

/**
 * `GET /openapi.json`: the OpenAPI document of the API's routes, built on first use and kept for
 * the isolate's life, so that only this route pays for it. `routes` is read late because the list
 * it returns holds this route too.
 */
export function serveOpenApi(routes: () => readonly RouteSpec[]): () => Response {
  let document: OpenApiDocument | undefined;
  return () => {
    document ??= openApiDocument(routes());
    return json(200, document);
  };
}
