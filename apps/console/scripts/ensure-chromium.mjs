#!/usr/bin/env node
// The browser the console's system tests drive: Debian's `chromium`, installed here when missing.
//
// Nothing downloads a browser from anywhere else (no `playwright install`): playwright-core
// drives this binary. As root (CI, fresh machines) it runs `apt-get update && apt-get install -y
// chromium`; otherwise it says what to run. CHROMIUM_PATH points at another binary.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

/** Where the tests look for the browser. */
export const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

function run(command, args) {
  const result = spawnSync(command, args, {
    stdio: 'inherit',
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
  if (result.error) throw result.error;
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} exited with ${result.status}`);
}

/** Installs Debian's chromium unless `chromiumPath` already exists; returns its path. */
export function ensureChromium() {
  if (existsSync(chromiumPath)) return chromiumPath;
  if (process.platform !== 'linux' || process.getuid?.() !== 0) {
    throw new Error(
      `No browser at ${chromiumPath}. Install Debian's chromium (sudo apt-get install -y chromium) ` +
        'or set CHROMIUM_PATH to a Chromium binary.',
    );
  }
  console.log('Installing Debian’s chromium for the console’s browser tests (apt-get)…');
  run('apt-get', ['update']);
  run('apt-get', ['install', '-y', '--no-install-recommends', 'chromium']);
  if (!existsSync(chromiumPath))
    throw new Error(`apt-get installed chromium, but ${chromiumPath} is missing`);
  return chromiumPath;
}

if (import.meta.url === `file://${process.argv[1]}`) console.log(`Chromium: ${ensureChromium()}`);
