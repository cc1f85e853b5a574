import { createScheduledController } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { commit, getDeadLetter, recordUnreadable } from '@triggers/event-store';
import { DEFAULT_ATTEMPT_SCHEDULE } from '@triggers/webhooks';
import { describe, expect, it } from 'vitest';
import worker from '../src/index.ts';
import { readSettings, SettingsError } from '../src/settings.ts';

const vars = (over: Record<string, unknown>) => ({ ...env, ...over }) as typeof env;

describe('the consumer’s settings', () => {
  it('reads the vars of wrangler.toml, numbers written as numbers or as text', () => {
    expect(readSettings(env)).toMatchObject({
      retention: { deliveredDays: 7, failedDays: 30 },
      delivery: { schedule: DEFAULT_ATTEMPT_SCHEDULE, timeoutMs: 5_000, disableAfter: 5 },
    });
    expect(
      readSettings(
        vars({ RETENTION_DELIVERED_DAYS: '3', DELIVERY_SCHEDULE: '1, 2,3', DELIVERY_TIMEOUT_MS: '1500' }),
      ),
    ).toMatchObject({ retention: { deliveredDays: 3 }, delivery: { schedule: [1, 2, 3], timeoutMs: 1_500 } });
  });

  it('refuses a retention of 0 days (which would purge everything at once), naming the var and what it takes', () => {
    expect(() => readSettings(vars({ RETENTION_DELIVERED_DAYS: 0 }))).toThrow(
      /RETENTION_DELIVERED_DAYS must be a whole number of days from 1 to 3650 \(got 0\)/,
    );
  });

  it('lists every wrong var at once: retention, store size, schedule, timeout, disable-after', () => {
    let error: unknown;
    try {
      readSettings(
        vars({
          RETENTION_FAILED_DAYS: '-1',
          STORE_WARN_BYTES: 'lots',
          DELIVERY_SCHEDULE: '5,x',
          DELIVERY_TIMEOUT_MS: '',
          DELIVERY_DISABLE_AFTER: 2.5,
        }),
      );
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(SettingsError);
    const message = (error as Error).message;
    for (const name of [
      'RETENTION_FAILED_DAYS',
      'STORE_WARN_BYTES',
      'DELIVERY_SCHEDULE',
      'DELIVERY_TIMEOUT_MS',
      'DELIVERY_DISABLE_AFTER',
    ]) {
      expect(message).toContain(name);
    }
    expect(() => readSettings(vars({ DELIVERY_SCHEDULE: '99999' }))).toThrow(/from 0 to 43200/);
  });

  it('stops a retention run with RETENTION_*_DAYS = 0 before it deletes anything', async () => {
    // The scheduled run purges D1's dead letters (each tenant's store purges itself).
    const at = new Date(Date.now() - 400 * 86_400_000);
    const messageId = `m-${crypto.randomUUID()}`;
    const old = {
      messageId,
      queue: 'event-queue',
      reason: 'r',
      attempts: 1,
      body: '1',
      body_encoding: 'json',
      enqueuedAt: at,
    } as const;
    await commit(env.DB, [recordUnreadable(env.DB, [old], at)]);
    const controller = createScheduledController({ scheduledTime: Date.now(), cron: '*/5 * * * *' });
    await expect(worker.scheduled(controller, vars({ RETENTION_FAILED_DAYS: 0 }))).rejects.toThrow(
      SettingsError,
    );
    expect(await getDeadLetter(env.DB, messageId)).not.toBeNull();
  });
});
