/**
 * The apps' committed wrangler.toml files, read for tests that check them against the shared
 * packages (queue names and settings, the event store, rate limits, fault injection). One
 * parser (smol-toml, the one wrangler itself uses) and one schema of the parts those tests read,
 * so that a config of an unexpected shape fails with a clear message rather than an undefined.
 * Node only: it reads files.
 *
 * @example
 * const { queues } = wranglerConfig('consumer');
 * for (const [name, section] of environments(wranglerConfig('ingest'))) ...
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'smol-toml';
import * as v from 'valibot';

/** The Workers whose configs are committed under `apps/`. */
export type App = 'ingest' | 'consumer';

const QueueProducer = v.looseObject({ binding: v.string(), queue: v.string() });

const QueueConsumer = v.looseObject({
  queue: v.string(),
  max_batch_size: v.optional(v.number()),
  max_batch_timeout: v.optional(v.number()),
  max_retries: v.optional(v.number()),
  dead_letter_queue: v.optional(v.string()),
});

const D1Database = v.looseObject({
  binding: v.string(),
  database_name: v.string(),
  database_id: v.string(),
  migrations_dir: v.optional(v.string()),
});

const RateLimit = v.looseObject({
  name: v.string(),
  namespace_id: v.string(),
  simple: v.object({ limit: v.number(), period: v.number() }),
});

/**
 * What one environment states: the top level or an `[env.<name>]`. Wrangler does not inherit
 * these keys into an environment, so each section stands for itself.
 */
const WranglerSection = v.looseObject({
  vars: v.optional(v.record(v.string(), v.unknown())),
  queues: v.optional(
    v.looseObject({
      producers: v.optional(v.array(QueueProducer)),
      consumers: v.optional(v.array(QueueConsumer)),
    }),
  ),
  d1_databases: v.optional(v.array(D1Database)),
  ratelimits: v.optional(v.array(RateLimit)),
});
export type WranglerSection = v.InferOutput<typeof WranglerSection>;

/** A Worker's wrangler.toml: the top-level section, its name and its environments. */
const WranglerConfig = v.looseObject({
  ...WranglerSection.entries,
  name: v.string(),
  env: v.optional(v.record(v.string(), WranglerSection)),
});
export type WranglerConfig = v.InferOutput<typeof WranglerConfig>;

/** `apps/<app>/wrangler.toml`, parsed and checked against {@link WranglerConfig}. */
export function wranglerConfig(app: App): WranglerConfig {
  const path = join(import.meta.dirname, '..', '..', '..', 'apps', app, 'wrangler.toml');
  const result = v.safeParse(WranglerConfig, parse(readFileSync(path, 'utf8')));
  if (!result.success) {
    throw new Error(`apps/${app}/wrangler.toml: ${v.summarize(result.issues)}`);
  }
  return result.output;
}

/** The top level (named `top level`) and every `[env.<name>]` of `config`, each as wrangler reads it. */
export function environments(config: WranglerConfig): [string, WranglerSection][] {
  return [['top level', config], ...Object.entries(config.env ?? {})];
}
