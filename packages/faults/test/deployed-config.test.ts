import { readFileSync } from 'node:fs';
import { parse } from 'smol-toml';
import { describe, expect, it } from 'vitest';

type Config = { vars?: { FAULTS?: unknown }; env?: Record<string, { vars?: { FAULTS?: unknown } }> };

const config = (app: string) =>
  parse(readFileSync(new URL(`../../../apps/${app}/wrangler.toml`, import.meta.url), 'utf8')) as Config;

describe('committed Worker configs', () => {
  it.each(['ingest', 'consumer'])('ship %s with fault injection off, in every environment', (app) => {
    const { vars, env = {} } = config(app);
    expect(vars?.FAULTS).toBe('');
    for (const environment of Object.values(env)) expect(environment.vars?.FAULTS ?? '').toBe('');
  });
});
