import { callRaw } from './api.ts';

/**
 * What the API behind this console offers, read from its OpenAPI document (`GET /openapi.json`,
 * public): `"GET /subscriptions"`, `"GET /inbox?type"`. Views and filters for features that are
 * still being built (event types, webhook subscriptions and deliveries) appear once the API
 * lists their operations, so the console works against an API with or without them.
 */
export type Capabilities = ReadonlySet<string>;

interface OpenApiOperation {
  parameters?: { in: string; name: string }[];
}

export async function loadCapabilities(): Promise<Capabilities> {
  const found = new Set<string>();
  try {
    const { status, body } = await callRaw(null, 'GET', '/openapi.json');
    if (status !== 200) return found;
    const paths = (body as { paths?: Record<string, Record<string, OpenApiOperation>> }).paths ?? {};
    for (const [path, operations] of Object.entries(paths)) {
      for (const [method, operation] of Object.entries(operations)) {
        const name = `${method.toUpperCase()} ${path}`;
        found.add(name);
        for (const parameter of operation.parameters ?? []) {
          if (parameter.in === 'query') found.add(`${name}?${parameter.name}`);
        }
      }
    }
  } catch {}
  return found;
}
