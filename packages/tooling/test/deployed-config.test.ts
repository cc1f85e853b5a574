/**
 * The apps' committed wrangler.toml files agree with the shared packages: the queues and their
 * consumer settings with event-schema's queues.ts, both Workers with one event store, the ingest
 * rate limit with the vars that state it, and fault injection (packages/faults) off everywhere;
 * and what `wrangler deploy --dry-run` would upload is production at the top level. All the tests
 * that read an app's wrangler.toml live here, through one reader (src/wrangler-config.mjs).
 */

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DELIVERY_QUEUE,
  DELIVERY_QUEUE_BINDING,
  DELIVERY_QUEUE_CONSUMER,
  EVENT_DLQ,
  EVENT_DLQ_BINDING,
  EVENT_DLQ_CONSUMER,
  EVENT_QUEUE,
  EVENT_QUEUE_BINDING,
  EVENT_QUEUE_BINDINGS,
  EVENT_QUEUE_CONSUMER,
  EVENT_QUEUES,
  STORE_OBJECT_LIMIT_BYTES,
} from '@triggers/event-schema';
import { afterAll, describe, expect, it } from 'vitest';
import { consumerConfig, ingestConfig, wrangler } from '../src/local.mjs';
import { environments, type WranglerSection, wranglerConfig } from '../src/wrangler-config.mjs';

const consumerOf = (queue: string) =>
  wranglerConfig('consumer').queues?.consumers?.find((c) => c.queue === queue);

/** A consumer's settings from queues.ts, spelled as in wrangler.toml. */
function asToml(settings: {
  queue: string;
  maxBatchSize: number;
  maxBatchTimeout: number;
  maxRetries: number;
  deadLetterQueue?: string;
}) {
  return {
    queue: settings.queue,
    max_batch_size: settings.maxBatchSize,
    max_batch_timeout: settings.maxBatchTimeout,
    max_retries: settings.maxRetries,
    ...(settings.deadLetterQueue === undefined ? {} : { dead_letter_queue: settings.deadLetterQueue }),
  };
}

describe('the apps’ wrangler.toml files agree with queues.ts', () => {
  it('ingest produces to every shard of event-queue through its binding, to delivery-queue (manual retries), and consumes nothing', () => {
    const { queues } = wranglerConfig('ingest');
    expect(queues?.producers).toEqual([
      ...EVENT_QUEUES.map((queue, shard) => ({ binding: EVENT_QUEUE_BINDINGS[shard], queue })),
      { binding: DELIVERY_QUEUE_BINDING, queue: DELIVERY_QUEUE },
    ]);
    expect(queues?.consumers).toBeUndefined();
  });

  it.each(EVENT_QUEUES)(
    'consumer reads %s with the batch size, timeout, retries and DLQ of EVENT_QUEUE_CONSUMER',
    (queue) => {
      expect(consumerOf(queue)).toEqual(asToml({ ...EVENT_QUEUE_CONSUMER, queue }));
    },
  );

  it('consumer reads event-dlq as EVENT_DLQ_CONSUMER says, with no queue behind it', () => {
    expect(consumerOf(EVENT_DLQ)).toEqual(asToml(EVENT_DLQ_CONSUMER));
  });

  it('consumer reads delivery-queue as DELIVERY_QUEUE_CONSUMER says', () => {
    expect(consumerOf(DELIVERY_QUEUE)).toEqual(asToml(DELIVERY_QUEUE_CONSUMER));
  });

  it('consumer consumes exactly the shards of event-queue, event-dlq and delivery-queue and produces to delivery-queue, event-dlq and event-queue (operational events)', () => {
    const { queues } = wranglerConfig('consumer');
    expect(queues?.consumers?.map((c) => c.queue).sort()).toEqual(
      [DELIVERY_QUEUE, EVENT_DLQ, ...EVENT_QUEUES].sort(),
    );
    expect(queues?.producers).toEqual([
      { binding: DELIVERY_QUEUE_BINDING, queue: DELIVERY_QUEUE },
      { binding: EVENT_QUEUE_BINDING, queue: EVENT_QUEUE },
      { binding: EVENT_DLQ_BINDING, queue: EVENT_DLQ },
    ]);
  });
});

describe('the apps’ wrangler.toml files share one event store', () => {
  it('ingest and consumer bind the same D1 database as DB, migrated from the event store’s migrations', () => {
    const ingest = wranglerConfig('ingest').d1_databases;
    const consumer = wranglerConfig('consumer').d1_databases;
    expect(consumer).toEqual([
      expect.objectContaining({ binding: 'DB', migrations_dir: '../../packages/event-store/migrations' }),
    ]);
    expect(ingest).toEqual(consumer);
  });
});

/**
 * The ingest Worker's rate limit is enforced by its [[ratelimits]] binding and stated in a 429's
 * headers from its RATE_LIMIT_* vars: wrangler.toml must keep the two equal, in every environment.
 */
describe('apps/ingest/wrangler.toml rate limit', () => {
  it.each(environments(wranglerConfig('ingest')))(
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

/**
 * The ingest Worker refuses to start when EVENT_QUEUE_SHARDS asks for a shard it has no binding for
 * (src/lib/event-queues.ts); this finds the mistake before a deploy, in every environment.
 */
describe('apps/ingest/wrangler.toml event-queue shards', () => {
  it.each(environments(wranglerConfig('ingest')))(
    '%s: EVENT_QUEUE_SHARDS is 1 to the number of shards, each with its producer binding',
    (_name, section) => {
      const shards = section.vars?.EVENT_QUEUE_SHARDS;
      expect(EVENT_QUEUES.map((_, shard) => shard + 1)).toContain(shards);
      const bound = section.queues?.producers?.map(({ binding, queue }) => `${binding} → ${queue}`);
      for (let shard = 0; shard < Number(shards); shard++)
        expect(bound).toContain(`${EVENT_QUEUE_BINDINGS[shard]} → ${EVENT_QUEUES[shard]}`);
    },
  );
});

/**
 * The consumer logs `event store nearly full` past STORE_WARN_BYTES; the ingest Worker's operator
 * health says `past_warning` past its own copy: one threshold, in every environment.
 */
describe('the store warning threshold', () => {
  it.each(environments(wranglerConfig('ingest')))(
    '%s: ingest and consumer share STORE_WARN_BYTES',
    (name, section) => {
      const consumer = environments(wranglerConfig('consumer')).find(([other]) => other === name)?.[1];
      expect(section.vars?.STORE_WARN_BYTES).toEqual(expect.any(Number));
      expect(section.vars?.STORE_WARN_BYTES).toBe(consumer?.vars?.STORE_WARN_BYTES);
    },
  );
});

/**
 * The ingest Worker refuses new events of a tenant whose store holds STORE_FULL_BYTES: past the
 * warning, so the warning comes first, and below the object's limit, so what is already on the
 * queue still fits.
 */
describe('the store full threshold', () => {
  it.each(environments(wranglerConfig('ingest')))(
    '%s: STORE_FULL_BYTES lies between STORE_WARN_BYTES and the object limit',
    (_name, section) => {
      const full = section.vars?.STORE_FULL_BYTES;
      expect(full).toEqual(expect.any(Number));
      expect(full).toBeGreaterThan(Number(section.vars?.STORE_WARN_BYTES));
      expect(full).toBeLessThan(STORE_OBJECT_LIMIT_BYTES);
    },
  );
});

/**
 * A tenant's store opens its next era at STORE_SPLIT_BYTES (the consumer's, event-store eras.ts),
 * before the warning: the two hours until the era starts fill the room between the split and the
 * ingest's STORE_FULL_BYTES (docs/scaling.md#eras-a-tenant-past-one-object-built).
 */
describe('the store split threshold', () => {
  it.each(environments(wranglerConfig('consumer')))(
    '%s: STORE_SPLIT_BYTES lies below STORE_WARN_BYTES',
    (_name, section) => {
      const split = section.vars?.STORE_SPLIT_BYTES;
      expect(split).toEqual(expect.any(Number));
      expect(split).toBeLessThan(Number(section.vars?.STORE_WARN_BYTES));
    },
  );
});

describe('committed Worker configs', () => {
  it.each(['ingest', 'consumer'] as const)(
    'ship %s with fault injection off, in every environment',
    (app) => {
      const { vars, env = {} } = wranglerConfig(app);
      expect(vars?.FAULTS).toBe('');
      for (const environment of Object.values(env)) expect(environment.vars?.FAULTS ?? '').toBe('');
    },
  );
});

/**
 * Wrangler inherits neither vars nor bindings into an `[env.<name>]`: a block that forgot one
 * deploys a Worker without it. The top level is production (a deploy without `--env`); each other
 * environment must say its own name (FAULTS is honoured only where ENVIRONMENT is local) and
 * repeat every binding and queue setting of the top level.
 */
describe('deployed environments', () => {
  const DEPLOYED = ['staging'];
  const shape = (section: WranglerSection) => ({
    vars: Object.keys(section.vars ?? {}).sort(),
    producers: section.queues?.producers,
    consumers: section.queues?.consumers,
    d1: section.d1_databases?.map(({ database_id: _id, ...rest }) => rest),
    ratelimits: section.ratelimits?.map(({ name, simple }) => ({ name, simple })),
    kv: (section.kv_namespaces as { binding: string }[] | undefined)?.map(({ binding }) => binding),
    // Required secrets (the ingest Worker's OPERATOR_TOKEN): not inherited either.
    secrets: section.secrets,
  });

  it.each(['ingest', 'consumer'] as const)(
    '%s is production at the top level, and has a staging block that names itself and repeats every binding',
    (app) => {
      const config = wranglerConfig(app);
      expect(Object.keys(config.env ?? {}).sort()).toEqual([...DEPLOYED].sort());
      expect(config.vars?.ENVIRONMENT).toBe('production');
      for (const name of DEPLOYED) {
        const section = config.env?.[name];
        expect(section?.vars?.ENVIRONMENT, name).toBe(name);
        expect(shape(section as WranglerSection), name).toEqual(shape(config));
      }
    },
  );
});

/**
 * What `wrangler deploy` would upload, read from its dry run's bindings table rather than from the
 * file: a deploy without `--env` (docs/deploying.md's first deploy) is production, every
 * environment ships its own name and no faults. Development values reach only `wrangler dev`
 * (`.dev.vars`, which deploys never read).
 */
describe('wrangler deploy --dry-run', () => {
  const outdir = mkdtempSync(join(tmpdir(), 'triggers-dry-run-'));
  afterAll(() => rmSync(outdir, { recursive: true, force: true }));

  /** The vars of the Worker `config` deploys in environment `env` (the top level when absent). */
  function deployedVars(config: string, env?: string): Record<string, unknown> {
    const args = ['deploy', '--dry-run', '--outdir', join(outdir, crypto.randomUUID()), '-c', config];
    const output = wrangler(env === undefined ? args : [...args, '--env', env]);
    expect(output).toContain('--dry-run: exiting now.');
    // One row per binding: `env.NAME (value)   Environment Variable`, strings JSON-quoted.
    const rows = [...output.matchAll(/^env\.(\w+) \((.*)\)\s+Environment Variable\s*$/gm)];
    return Object.fromEntries(rows.map(([, name, value = '']) => [name, JSON.parse(value)]));
  }

  const CONFIGS = { ingest: ingestConfig, consumer: consumerConfig };
  const DEPLOYS = (['ingest', 'consumer'] as const).flatMap((app) =>
    environments(wranglerConfig(app)).map(([name]) => [app, name] as const),
  );

  it('covers the top level of both Workers', () => {
    expect(DEPLOYS).toEqual(
      expect.arrayContaining([
        ['ingest', 'top level'],
        ['consumer', 'top level'],
      ]),
    );
  });

  // Each dry run bundles the Worker: a few seconds on a busy machine.
  it.each(DEPLOYS)(
    '%s, %s: deploys ENVIRONMENT as that environment (production at the top level), FAULTS empty',
    (app, name) => {
      const vars = deployedVars(CONFIGS[app], name === 'top level' ? undefined : name);
      expect(vars).toMatchObject({ ENVIRONMENT: name === 'top level' ? 'production' : name, FAULTS: '' });
    },
    60_000,
  );
});
