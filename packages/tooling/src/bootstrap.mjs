#!/usr/bin/env node
// @ts-check
// Runs a root pnpm script on a machine that may have nothing but Node 20 and npm.
//
//   node packages/tooling/src/bootstrap.mjs run <script>   install, then `pnpm run <script>`
//   node packages/tooling/src/bootstrap.mjs test           the root `test` script (below)
//
// It installs the workspace with the pinned pnpm (fetched by npx, since corepack is not
// reliable everywhere) and then runs the script through that pnpm. The lockfile pins a
// `node` devDependency, so the script itself runs on Node 24 whatever Node started us.
// Plain Node, no dependencies: this file runs before anything is installed.
//
// The test tiers. `npm test` and `pnpm test` both run the root `test` script; which tool started
// it (npm_config_user_agent) picks the tier, so each command keeps its usual meaning:
//   - `pnpm test`: the fast tier, the developer's loop (`test:fast`: every package's workerd
//     integration tests), with what is installed: no install round trip (run `pnpm install`
//     after pulling new dependencies).
//   - `npm test` (or anything but pnpm, e.g. CI's .ci/run on a fresh machine): install, then all
//     of it (`test:all`: check, then the fast tier, then the system tier).
//   - `pnpm test:system`: the system tier alone (end to end, faults, fuzz, the bench harness, the
//     local commands against real local state and a running `wrangler dev`).
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { npmNetworkEnv } from './npm-settings.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const { packageManager } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const [command, ...args] = process.argv.slice(2);

const agent = process.env.npm_config_user_agent ?? '';
const execPath = process.env.npm_execpath ?? '';
// Already inside the pinned pnpm (e.g. `pnpm start`): reuse it, no npx round trip.
const insidePinnedPnpm = agent.startsWith(`${packageManager.replace('@', '/')} `) && execPath !== '';
const pnpm = insidePinnedPnpm
  ? [process.execPath, execPath]
  : [process.platform === 'win32' ? 'npx.cmd' : 'npx', '--yes', packageManager];

// Started by npm: its registry settings (a cafile in the machine's global npmrc, say) for every
// package manager below, which runs on another Node and would not find that npmrc (npm-settings.mjs).
const startedByNpm = agent.startsWith('npm/') && execPath !== '';
const env = {
  ...process.env,
  ...(startedByNpm ? npmNetworkEnv([process.env.npm_node_execpath ?? process.execPath, execPath]) : {}),
};

/** Runs the pinned pnpm with `extra`; exits with its status when it fails. @param {string[]} extra */
function run(extra) {
  const [cmd = 'npx', ...pre] = pnpm;
  const result = spawnSync(cmd, [...pre, ...extra], { cwd: root, stdio: 'inherit', env });
  if (result.error) throw result.error;
  if (result.status !== 0) process.exit(result.status ?? 1);
}

const install = () =>
  run([
    'install',
    '--frozen-lockfile',
    '--prefer-offline',
    '--config.confirm-modules-purge=false',
    '--reporter=silent',
  ]);

if (command === 'run' && args.length > 0) {
  install();
  run(['run', ...args]);
} else if (command === 'test') {
  if (agent.startsWith('pnpm/')) {
    run(['run', 'test:fast']);
  } else {
    install();
    run(['run', 'test:all']);
  }
} else {
  console.error('usage: node packages/tooling/src/bootstrap.mjs run <script> [args] | test');
  process.exit(2);
}
