import { describe, expect, it } from 'vitest';
import { webhookUrlProblem } from '../src/index.ts';

const deployed = { local: false };
const local = { local: true };

/** Asserts that every URL is refused under both rule sets. */
function refusedEverywhere(urls: string[]) {
  for (const url of urls) {
    expect(webhookUrlProblem(url, deployed), url).toBeDefined();
    expect(webhookUrlProblem(url, local), url).toBeDefined();
  }
}

describe('webhookUrlProblem', () => {
  it('accepts public https URLs everywhere: names, IPv4 and global IPv6 addresses', () => {
    for (const url of [
      'https://hooks.example.com/in',
      'https://hooks.example.com./in', // the absolute form of a public name
      'https://93.184.216.34:8443/x',
      'https://[2606:4700::1]/',
    ]) {
      expect(webhookUrlProblem(url, deployed), url).toBeUndefined();
      expect(webhookUrlProblem(url, local), url).toBeUndefined();
    }
  });

  it('accepts http://127.0.0.1:<port>, localhost and [::1] in local development only', () => {
    for (const url of ['http://127.0.0.1:8788/', 'http://localhost:9000/hook', 'http://[::1]:8788/']) {
      expect(webhookUrlProblem(url, local), url).toBeUndefined();
      expect(webhookUrlProblem(url, deployed), url).toBeDefined();
    }
  });

  it('refuses loopback, private, link-local, shared and unspecified IPv4, however written', () => {
    refusedEverywhere([
      'https://10.1.2.3/',
      'https://172.16.0.1/',
      'https://192.168.0.1/',
      'https://169.254.169.254/latest/meta-data',
      'https://100.64.0.1/',
      'https://0.0.0.0/',
      'https://0x0a.1/', // 10.0.0.1, normalized by the URL parser
      'https://167772161/', // 10.0.0.1 in decimal
    ]);
    for (const url of ['https://127.0.0.1/', 'https://2130706433/', 'https://0x7f.1/']) {
      expect(webhookUrlProblem(url, deployed), url).toBeDefined();
    }
  });

  it('refuses the reserved, benchmarking, multicast and broadcast IPv4 blocks, 192.0.0.1 among them', () => {
    refusedEverywhere([
      'https://192.0.0.1/',
      'https://192.0.2.1/',
      'https://198.18.0.1/',
      'https://224.0.0.1/',
      'https://255.255.255.255/',
      'https://240.0.0.1/',
    ]);
  });

  it('refuses every IPv6 form that embeds an IPv4 address: mapped, IPv4-compatible, NAT64, 6to4, Teredo', () => {
    refusedEverywhere([
      'https://[::ffff:10.0.0.1]/',
      'https://[::ffff:169.254.169.254]/',
      'https://[::ffff:a9fe:a9fe]/',
      'https://[::a9fe:a9fe]/', // IPv4-compatible 169.254.169.254
      'https://[::169.254.169.254]/',
      'https://[::7f00:1]/', // IPv4-compatible 127.0.0.1
      'https://[64:ff9b::a9fe:a9fe]/', // NAT64 of 169.254.169.254
      'https://[64:ff9b::10.0.0.1]/',
      'https://[2002:a9fe:a9fe::]/', // 6to4 of 169.254.169.254
      'https://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/', // Teredo
    ]);
  });

  it('refuses loopback, unspecified, unique-local, link-local, site-local, multicast and documentation IPv6', () => {
    refusedEverywhere([
      'https://[::]/',
      'https://[fd12::1]/',
      'https://[fe80::1]/',
      'https://[fec0::1]/',
      'https://[ff02::1]/',
      'https://[ff0e::1]/',
      'https://[2001:db8::1]/',
      'https://[100::1]/',
    ]);
    expect(webhookUrlProblem('https://[::1]/', deployed)).toBeDefined();
  });

  it('refuses internal host names, with or without the trailing dot of their absolute form', () => {
    refusedEverywhere([
      'https://metadata.google.internal/',
      'https://metadata.google.internal./',
      'https://intranet/',
      'https://intranet./',
      'https://printer.local./',
      'https://router.home.arpa/',
      'https://a..example.com/',
    ]);
    for (const url of ['https://localhost/', 'https://localhost./', 'https://app.localhost./']) {
      expect(webhookUrlProblem(url, deployed), url).toBeDefined();
    }
  });

  it('refuses private and metadata addresses in local development too, and http to anything but loopback', () => {
    expect(webhookUrlProblem('http://169.254.169.254/', local)).toBeDefined();
    expect(webhookUrlProblem('https://10.0.0.1/', local)).toBeDefined();
    expect(webhookUrlProblem('http://example.com/', local)).toMatch(/https/);
  });

  it('refuses non-http schemes, relative URLs and credentials, saying which', () => {
    expect(webhookUrlProblem('ftp://example.com/', deployed)).toMatch(/http/);
    expect(webhookUrlProblem('/hook', deployed)).toMatch(/absolute/);
    expect(webhookUrlProblem('https://u:p@example.com/', deployed)).toMatch(/credentials/);
    expect(webhookUrlProblem('https://169.254.169.254/', deployed)).toBe(
      'must target a public address, not a link-local (where cloud metadata services answer) one',
    );
    expect(webhookUrlProblem('https://[64:ff9b::a9fe:a9fe]/', deployed)).toMatch(/not a NAT64 one/);
  });
});
