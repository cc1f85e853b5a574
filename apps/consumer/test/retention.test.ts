import { createScheduledController } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { commit, getEvent, storeDelivered } from '@triggers/event-store';
import { afterEach, describe, expect, it, vi } from 'vitest';
import worker from '../src/index.ts';
import { event } from './queue.ts';

afterEach(() => vi.restoreAllMocks());

const DAY_MS = 86_400_000;

/** Runs the Worker's scheduled handler at `now` with `vars` over its own, and returns its log lines. */
async function runScheduled(now: Date, vars: Record<string, unknown> = {}) {
  const lines: Record<string, unknown>[] = [];
  for (const method of ['log', 'warn', 'error'] as const) {
    vi.spyOn(console, method).mockImplementation((line: unknown) => {
      lines.push(JSON.parse(String(line)));
    });
  }
  const controller = createScheduledController({ scheduledTime: now.getTime(), cron: '*/5 * * * *' });
  await worker.scheduled(controller, { ...env, ...vars } as typeof env);
  return lines;
}

describe('the scheduled retention run', () => {
  it('purges delivered events older than RETENTION_DELIVERED_DAYS and logs what it did with the store size', async () => {
    const now = new Date();
    const old = event({ timestamp: new Date(now.getTime() - 8 * DAY_MS).toISOString() });
    const recent = event({ timestamp: new Date(now.getTime() - 6 * DAY_MS).toISOString() });
    await commit(env.DB, [
      storeDelivered(
        env.DB,
        [old, recent].map((e) => ({ event: e, attempts: 1 })),
        now,
      ),
    ]);

    const lines = await runScheduled(now);
    const read = (e: typeof old) => getEvent(env.DB, { apiKeyId: e.api_key_id, eventId: e.event_id });
    expect(await read(old)).toBeNull();
    expect(await read(recent)).not.toBeNull();
    const line = lines.find((l) => l.message === 'retention');
    expect(line).toMatchObject({
      level: 'info',
      delivered: 1,
      deliveries: 0,
      delivery_attempts: 0,
      expired_secrets: 0,
      complete: true,
      delivered_days: 7,
      failed_days: 30,
    });
    expect(line?.store_bytes).toBeGreaterThan(0);
    expect(lines.some((l) => l.message === 'event store nearly full')).toBe(false);
  });

  it('says loudly when the store is past STORE_WARN_BYTES', async () => {
    const lines = await runScheduled(new Date(), { STORE_WARN_BYTES: 1 });
    expect(lines.find((l) => l.message === 'event store nearly full')).toMatchObject({
      level: 'error',
      store_warn_bytes: 1,
    });
  });
});
