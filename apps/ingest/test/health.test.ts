import { createExecutionContext } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { HealthStatus } from '@triggers/event-schema';
import * as v from 'valibot';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { IngestEnv } from '../src/env.ts';
import worker from '../src/index.ts';
import { MIN_OPERATOR_TOKEN_LENGTH } from '../src/lib/operator.ts';
import { BASE_URL, call, expectError, newApiKey, pastHealthCache } from './support/ingest.ts';

const TOKEN = env.OPERATOR_TOKEN;
const bearer = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });
const PUBLIC = { status: 'ok', checks: { auth_kv: 'ok', event_queue: 'configured' } };

/** GET /health through the Worker's own fetch, with `vars` over the runtime's. */
function healthWith(vars: Partial<IngestEnv>, token: string): Promise<Response> {
  // The Worker's handler expects an incoming request's `cf` properties, which a test has none of.
  const request = new Request(`${BASE_URL}/health`, bearer(token)) as Parameters<typeof worker.fetch>[0];
  return worker.fetch(request, { ...env, ...vars }, createExecutionContext());
}

const healthData = async (response: Response) => {
  expect(response.status).toBe(200);
  return v.parse(HealthStatus, await response.json()).data;
};

afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

describe('GET /health for an operator (Authorization: Bearer <OPERATOR_TOKEN>)', () => {
  it('also answers the store size in bytes, the warning threshold, and that the store is not past it', async () => {
    pastHealthCache();
    const data = await healthData(await call('/health', bearer(TOKEN)));
    expect(data).toEqual({
      ...PUBLIC,
      store: { size_bytes: expect.any(Number), warn_bytes: 8_000_000_000, past_warning: false },
    });
    expect(data.store?.size_bytes).toBeGreaterThan(0);
  });

  it('says past_warning once the store is at or past STORE_WARN_BYTES', async () => {
    pastHealthCache();
    const response = await healthWith({ STORE_WARN_BYTES: 1 }, TOKEN);
    expect((await healthData(response)).store).toMatchObject({ warn_bytes: 1, past_warning: true });
  });

  it('tells nothing more without the token, with a tenant API key, or with a token one character off, a prefix or an extension of it', async () => {
    pastHealthCache();
    const tenant = await newApiKey();
    const other = (c: string) => (c === 'x' ? 'y' : 'x');
    const oneOff = (i: number) => `${TOKEN.slice(0, i)}${other(TOKEN[i] ?? '')}${TOKEN.slice(i + 1)}`;
    const refused = [
      oneOff(0),
      oneOff(TOKEN.length >> 1),
      oneOff(TOKEN.length - 1),
      TOKEN.slice(0, -1),
      TOKEN.slice(0, MIN_OPERATOR_TOKEN_LENGTH),
      TOKEN.slice(1),
      `${TOKEN}x`,
      `${TOKEN}${TOKEN}`,
    ];
    expect(refused.every((token) => token !== TOKEN)).toBe(true);
    for (const init of [
      {},
      bearer(tenant.key),
      ...refused.map(bearer),
      { headers: { authorization: TOKEN } },
    ]) {
      expect(await healthData(await call('/health', init))).toEqual(PUBLIC);
    }
  });

  it('tells nothing more when OPERATOR_TOKEN is unset or too short to be safe, whatever is sent', async () => {
    pastHealthCache();
    const short = 'x'.repeat(MIN_OPERATOR_TOKEN_LENGTH - 1);
    for (const [OPERATOR_TOKEN, sent] of [
      [undefined, 'undefined'],
      ['', ''],
      [short, short],
    ] as const) {
      expect(await healthData(await healthWith({ OPERATOR_TOKEN }, sent))).toEqual(PUBLIC);
    }
  });

  it('asks D1 at most once per cache period for operators, and never for anyone else', async () => {
    pastHealthCache();
    const prepare = vi.spyOn(env.DB, 'prepare'); // watches only
    await Promise.all(Array.from({ length: 20 }, () => call('/health')));
    expect(prepare).not.toHaveBeenCalled();
    const answers = await Promise.all(Array.from({ length: 20 }, () => call('/health', bearer(TOKEN))));
    for (const answer of answers) expect((await healthData(answer)).store?.size_bytes).toBeGreaterThan(0);
    expect(prepare).toHaveBeenCalledTimes(1);
  });

  it('answers the operator 503 when the store does not answer, while outsiders still get 200', async () => {
    pastHealthCache();
    // Mocked: a local D1 cannot be made to fail on demand.
    vi.spyOn(env.DB, 'prepare').mockImplementation(() => {
      throw new Error('D1_ERROR: down');
    });
    const response = await call('/health', bearer(TOKEN));
    const error = await expectError(response, 503, 'SERVICE_UNAVAILABLE');
    expect(error.error.message).toBe('The event store (DB) does not answer.');
    expect(response.headers.get('retry-after')).toBe('2');
    expect(await healthData(await call('/health'))).toEqual(PUBLIC);
  });
});

describe('GET /health in the OpenAPI document', () => {
  it('documents the operator token as optional and the store section it unlocks', async () => {
    const doc = (await (await call('/openapi.json')).json()) as {
      paths: Record<string, Record<string, { security: unknown[] }>>;
      components: {
        securitySchemes: Record<string, { scheme: string }>;
        schemas: Record<string, { properties?: Record<string, { properties?: Record<string, unknown> }> }>;
      };
    };
    expect(doc.paths['/health']?.get?.security).toEqual([{}, { operatorToken: [] }]);
    expect(doc.components.securitySchemes.operatorToken).toMatchObject({ scheme: 'bearer' });
    const data = doc.components.schemas.HealthStatus?.properties?.data as {
      properties: Record<string, { properties?: Record<string, unknown> }>;
      required: string[];
    };
    expect(Object.keys(data.properties.store?.properties ?? {}).sort()).toEqual([
      'past_warning',
      'size_bytes',
      'warn_bytes',
    ]);
    expect(data.required).not.toContain('store');
  });
});
