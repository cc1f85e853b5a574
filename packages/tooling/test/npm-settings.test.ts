/**
 * What bootstrap.mjs hands down from the npm that started it: the real npm on PATH, reading a
 * global npmrc of the test's own (as a machine behind a TLS-inspecting proxy has one).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { npmNetworkEnv } from '../src/npm-settings.mjs';

const dir = mkdtempSync(join(tmpdir(), 'triggers-npmrc-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** This process's environment without the npm settings pnpm exported to it, npm reading `globalrc`. */
function npmEnv(globalrc: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^npm_config_/i.test(name)));
  const globalconfig = join(dir, 'global-npmrc');
  const userconfig = join(dir, 'user-npmrc');
  writeFileSync(globalconfig, globalrc);
  writeFileSync(userconfig, '');
  return { ...env, npm_config_globalconfig: globalconfig, npm_config_userconfig: userconfig, ...extra };
}

describe('npmNetworkEnv', () => {
  it('turns the certificate authority and proxy of the global npmrc into npm_config_* variables', () => {
    const env = npmEnv(
      'cafile=/etc/proxy-ca.pem\nhttps-proxy=http://proxy.invalid:3128\nnoproxy=localhost\n',
    );
    const found = npmNetworkEnv(['npm'], env);
    expect(found).toMatchObject({
      npm_config_cafile: '/etc/proxy-ca.pem',
      npm_config_https_proxy: 'http://proxy.invalid:3128',
      npm_config_noproxy: 'localhost',
    });
    // Unset settings are not handed down as the string "null".
    expect(found).not.toHaveProperty('npm_config_proxy');
  });

  it('leaves out what the environment already sets, which reaches the children anyway', () => {
    const env = npmEnv('cafile=/etc/proxy-ca.pem\n', { npm_config_cafile: '/etc/other-ca.pem' });
    expect(npmNetworkEnv(['npm'], env)).not.toHaveProperty('npm_config_cafile');
  });

  it('hands down nothing when npm cannot be asked', () => {
    expect(npmNetworkEnv([join(dir, 'no-such-npm')])).toEqual({});
  });
});
