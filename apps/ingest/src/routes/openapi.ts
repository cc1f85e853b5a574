import { OpenApiDocument, openApiDocument, type RouteSpec } from '../lib/openapi.ts';
import { json } from '../lib/responses.ts';

/**
 * `GET /openapi.json`, the OpenAPI document of `routes`: the list it is itself part of, hence read
 * late. The document is built on first use and kept for the isolate's life, so that only this
 * route pays for it.
 */
export function getOpenApiRoute(routes: () => readonly RouteSpec[]): RouteSpec {
  let document: OpenApiDocument | undefined;
  return {
    method: 'GET',
    path: '/openapi.json',
    operationId: 'getOpenApi',
    summary: 'This document',
    description: 'The OpenAPI 3.1 description of this API, generated from its valibot schemas.',
    authenticated: false,
    response: OpenApiDocument,
    errors: [],
    handler: () => {
      document ??= openApiDocument(routes());
      return json(200, document);
    },
  };
}
