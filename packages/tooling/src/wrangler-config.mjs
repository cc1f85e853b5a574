// @ts-check
// The apps' wrangler.toml files as the harnesses and the config tests read them: one parser
// (smol-toml, the one wrangler itself uses) and one schema of the parts they read or change, so a
// config of an unexpected shape fails with a clear message rather than an undefined. Every other
// key is kept as it is (loose objects), so a parsed config can be written back whole.
//
//   const { queues } = wranglerConfig('consumer');
//   for (const [name, section] of environments(wranglerConfig('ingest'))) ...
import { readFileSync } from 'node:fs';
import { parse } from 'smol-toml';
import * as v from 'valibot';
import { consoleConfig, consumerConfig, ingestConfig } from './local.mjs';

/** The Workers whose configs are committed under `apps/`, and where. */
const CONFIGS = { ingest: ingestConfig, consumer: consumerConfig, console: consoleConfig };

/** @typedef {keyof typeof CONFIGS} App */

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
/** @typedef {v.InferOutput<typeof WranglerSection>} WranglerSection */

/** A Worker's wrangler.toml: the top-level section, its name, entry, assets and environments. */
const WranglerConfig = v.looseObject({
  ...WranglerSection.entries,
  name: v.string(),
  main: v.string(),
  assets: v.optional(v.looseObject({ directory: v.optional(v.string()) })),
  env: v.optional(v.record(v.string(), WranglerSection)),
});
/** @typedef {v.InferOutput<typeof WranglerConfig>} WranglerConfig */

/**
 * The wrangler.toml at `path`, parsed and checked against {@link WranglerConfig}.
 * @param {string} path
 * @returns {WranglerConfig}
 */
export function readWranglerConfig(path) {
  const result = v.safeParse(WranglerConfig, parse(readFileSync(path, 'utf8')));
  if (!result.success) throw new Error(`${path}: ${v.summarize(result.issues)}`);
  return result.output;
}

/**
 * `apps/<app>/wrangler.toml`, parsed and checked.
 * @param {App} app
 */
export function wranglerConfig(app) {
  return readWranglerConfig(CONFIGS[app]);
}

/**
 * The top level (named `top level`) and every `[env.<name>]` of `config`, each as wrangler reads it.
 * @param {WranglerConfig} config
 * @returns {[string, WranglerSection][]}
 */
export function environments(config) {
  return [['top level', config], ...Object.entries(config.env ?? {})];
}
