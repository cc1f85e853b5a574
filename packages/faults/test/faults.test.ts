import { describe, expect, it } from 'vitest';
import { failsNow, faultsFor, flakyQueue, InjectedFault, parseFaults } from '../src/index.ts';

const sequence = (...values: number[]) => {
  let i = 0;
  return () => values[i++ % values.length] as number;
};

describe('parseFaults', () => {
  it('injects nothing when FAULTS is empty or unset', () => {
    expect(parseFaults('')).toBeUndefined();
    expect(parseFaults(undefined)).toBeUndefined();
  });

  it('reads rates and defaults the missing ones to 0', () => {
    expect(parseFaults('{"queue_send":0.25}')).toEqual({ queue_send: 0.25, consumer_batch_throw: 0 });
  });

  it.each(['{"queue_send":2}', '{"queu_send":0.1}', 'not json'])('refuses the malformed value %s', (raw) => {
    expect(() => parseFaults(raw)).toThrow();
  });
});

describe('faultsFor', () => {
  const FAULTS = '{"queue_send":1}';

  it.each(['development', 'test'])('honours FAULTS where ENVIRONMENT is %s', (ENVIRONMENT) => {
    expect(faultsFor({ ENVIRONMENT, FAULTS })).toEqual({ queue_send: 1, consumer_batch_throw: 0 });
  });

  it.each(['production', 'staging', undefined])(
    'ignores FAULTS, even a malformed one, where ENVIRONMENT is %s',
    (ENVIRONMENT) => {
      expect(faultsFor({ ENVIRONMENT, FAULTS })).toBeUndefined();
      expect(faultsFor({ ENVIRONMENT, FAULTS: 'not json' })).toBeUndefined();
    },
  );

  it('says what is wrong with a malformed FAULTS, and what it should look like', () => {
    expect(() => faultsFor({ ENVIRONMENT: 'development', FAULTS: '{"queu_send":0.1}' })).toThrow(
      /FAULTS is malformed \(queu_send: .*\); expected an object such as \{"queue_send"/,
    );
    expect(() => faultsFor({ ENVIRONMENT: 'development', FAULTS: 'queue_send=1' })).toThrow(
      /FAULTS is not JSON/,
    );
  });
});

describe('flakyQueue', () => {
  const queue = () => {
    const sent: unknown[] = [];
    return {
      sent,
      async send(body: unknown) {
        sent.push(body);
      },
      async sendBatch(messages: unknown[]) {
        sent.push(...messages);
      },
    };
  };

  it('passes calls through when its draw is above the rate and refuses them below', async () => {
    const real = queue();
    const flaky = flakyQueue(real, 0.5, sequence(0.9, 0.1, 0.7));
    await flaky.send('a');
    await expect(flaky.send('b')).rejects.toBeInstanceOf(InjectedFault);
    await flaky.sendBatch(['c', 'd']);
    expect(real.sent).toEqual(['a', 'c', 'd']);
  });

  it('is the queue itself at rate 0', () => {
    const real = queue();
    expect(flakyQueue(real, 0)).toBe(real);
  });

  it('fails about the asked fraction of calls', () => {
    let failures = 0;
    for (let i = 0; i < 10_000; i++) if (failsNow(0.1)) failures++;
    expect(failures).toBeGreaterThan(800);
    expect(failures).toBeLessThan(1_200);
  });
});
