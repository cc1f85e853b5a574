import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'smol-toml';
import { describe, expect, it } from 'vitest';

/**
 * The ingest Worker's rate limit is enforced by its [[ratelimits]] binding and stated in a 429's
 * headers from its RATE_LIMIT_* vars: wrangler.toml must keep the two equal, in every environment.
 */
interface Section {
  vars?: Record<string, unknown>;
  ratelimits?: { name: string; simple: { limit: number; period: number } }[];
}
const config = parse(
  readFileSync(join(import.meta.dirname, '../../../apps/ingest/wrangler.toml'), 'utf8'),
) as Section & { env?: Record<string, Section> };

const environments: [string, Section][] = [['top level', config], ...Object.entries(config.env ?? {})];

describe('apps/ingest/wrangler.toml rate limit', () => {
  it.each(environments)(
    '%s: RATE_LIMIT_* vars state what the RATE_LIMITER binding enforces',
    (_name, section) => {
      const binding = section.ratelimits?.find((r) => r.name === 'RATE_LIMITER');
      expect(binding).toBeDefined();
      expect(section.vars?.RATE_LIMIT_REQUESTS).toBe(binding?.simple.limit);
      expect(section.vars?.RATE_LIMIT_PERIOD_SECONDS).toBe(binding?.simple.period);
      expect([10, 60]).toContain(binding?.simple.period);
    },
  );
});
