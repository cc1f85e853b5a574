import { describe, expect, it } from 'vitest';
import {
  DEFAULT_DELIVERY_SCHEDULE,
  deliverySchedule,
  matchesEventTypes,
  retryDelay,
  webhookUrlProblem,
} from '../src/index.ts';

describe('webhookUrlProblem', () => {
  const deployed = { local: false };
  const local = { local: true };

  it('accepts public https URLs everywhere', () => {
    for (const url of [
      'https://hooks.example.com/in',
      'https://93.184.216.34:8443/x',
      'https://[2606:4700::1]/',
    ]) {
      expect(webhookUrlProblem(url, deployed), url).toBeUndefined();
      expect(webhookUrlProblem(url, local), url).toBeUndefined();
    }
  });

  it('accepts http://127.0.0.1:<port> and localhost in local development only', () => {
    for (const url of ['http://127.0.0.1:8788/', 'http://localhost:9000/hook', 'http://[::1]:8788/']) {
      expect(webhookUrlProblem(url, local), url).toBeUndefined();
      expect(webhookUrlProblem(url, deployed), url).toBeDefined();
    }
  });

  it('refuses loopback, private, link-local, shared and metadata addresses when deployed, however written', () => {
    for (const url of [
      'https://127.0.0.1/',
      'https://2130706433/', // 127.0.0.1 in decimal, normalized by the URL parser
      'https://0x7f.1/',
      'https://10.1.2.3/',
      'https://172.16.0.1/',
      'https://192.168.0.1/',
      'https://169.254.169.254/latest/meta-data',
      'https://100.64.0.1/',
      'https://0.0.0.0/',
      'https://[::1]/',
      'https://[fd12::1]/',
      'https://[fe80::1]/',
      'https://[::ffff:10.0.0.1]/',
      'https://[::ffff:169.254.169.254]/',
      'https://localhost/',
      'https://metadata.google.internal/',
      'https://intranet/',
    ]) {
      expect(webhookUrlProblem(url, deployed), url).toBeDefined();
    }
  });

  it('refuses private and metadata addresses in local development too, and http to anything but loopback', () => {
    expect(webhookUrlProblem('http://169.254.169.254/', local)).toBeDefined();
    expect(webhookUrlProblem('https://10.0.0.1/', local)).toBeDefined();
    expect(webhookUrlProblem('http://example.com/', local)).toMatch(/https/);
  });

  it('refuses non-http schemes, relative URLs and credentials', () => {
    expect(webhookUrlProblem('ftp://example.com/', deployed)).toMatch(/http/);
    expect(webhookUrlProblem('/hook', deployed)).toMatch(/absolute/);
    expect(webhookUrlProblem('https://u:p@example.com/', deployed)).toMatch(/credentials/);
  });
});

describe('matchesEventTypes', () => {
  it('matches every type when there is no filter, exact types, and prefix patterns at a dot', () => {
    expect(matchesEventTypes(null, 'anything')).toBe(true);
    expect(matchesEventTypes(['order.created'], 'order.created')).toBe(true);
    expect(matchesEventTypes(['order.created'], 'order.created.v2')).toBe(false);
    expect(matchesEventTypes(['order.*'], 'order.created')).toBe(true);
    expect(matchesEventTypes(['order.*'], 'order.refund.issued')).toBe(true);
    expect(matchesEventTypes(['order.*'], 'order')).toBe(false);
    expect(matchesEventTypes(['order.*'], 'orders.created')).toBe(false);
  });
});

describe('the retry schedule', () => {
  it('reads DELIVERY_SCHEDULE, falling back to the default when unset or unreadable', () => {
    expect(deliverySchedule('1, 2,3')).toEqual([1, 2, 3]);
    expect(deliverySchedule('')).toBe(DEFAULT_DELIVERY_SCHEDULE);
    expect(deliverySchedule(undefined)).toBe(DEFAULT_DELIVERY_SCHEDULE);
    expect(deliverySchedule('1,x')).toBe(DEFAULT_DELIVERY_SCHEDULE);
    expect(deliverySchedule('99999999')).toBe(DEFAULT_DELIVERY_SCHEDULE);
  });

  it('spans hours by default and jitters each delay by at most 20 %', () => {
    expect(DEFAULT_DELIVERY_SCHEDULE.reduce((a, b) => a + b, 0)).toBeGreaterThan(24 * 3600);
    expect(retryDelay([100, 1000], 2, 0)).toBe(80);
    expect(retryDelay([100, 1000], 2, 1)).toBe(120);
    expect(retryDelay([100, 1000], 3, 0.5)).toBe(1000);
    expect(retryDelay([100, 1000], 4)).toBeUndefined();
  });
});
