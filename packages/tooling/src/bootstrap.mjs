#!/usr/bin/env node
// @ts-check
// Runs a root pnpm script on a machine that may have nothing but Node 20 and npm.
//
//   node packages/tooling/src/bootstrap.mjs run <script>
//
// It installs the workspace with the pinned pnpm (fetched by npx, since corepack is not
// reliable everywhere) and then runs the script through that pnpm. The lockfile pins a
// `node` devDependency, so the script itself runs on Node 24 whatever Node started us.
// Plain Node, no dependencies: this file runs before anything is installed.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const { packageManager } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const args = process.argv.slice(2);

// Already inside the pinned pnpm (e.g. `pnpm test`): reuse it, no npx round trip.
const agent = process.env.npm_config_user_agent ?? '';
const execPath = process.env.npm_execpath ?? '';
const insidePinnedPnpm = agent.startsWith(`${packageManager.replace('@', '/')} `) && execPath !== '';
const pnpm = insidePinnedPnpm
  ? [process.execPath, execPath]
  : [process.platform === 'win32' ? 'npx.cmd' : 'npx', '--yes', packageManager];

/** @param {string[]} extra */
function run(extra) {
  const [cmd, ...pre] = pnpm;
  const result = spawnSync(cmd, [...pre, ...extra], { cwd: root, stdio: 'inherit' });
  if (result.error) throw result.error;
  if (result.status !== 0) process.exit(result.status ?? 1);
}

run(['install', '--frozen-lockfile', '--prefer-offline', '--reporter=silent']);
run(args);
