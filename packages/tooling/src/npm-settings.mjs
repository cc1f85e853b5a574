// @ts-check
// The npm settings a package manager needs to reach the registry from this machine, handed down
// from the npm that ran `npm test` / `npm start` to every tool started below it.
//
// Why: below bootstrap.mjs everything runs on the pinned Node 24 (the `node` devDependency), and
// npm looks for its global npmrc beside the Node that runs it (`<prefix>/etc/npmrc`, the prefix
// being two folders above the node binary), so under Node 24 it looks in
// node_modules/node/etc/npmrc; inside a pnpm script, npm_config_globalconfig even names pnpm's
// own rc. A certificate authority trusted only through the machine's global npmrc (`cafile`, as
// behind a TLS-inspecting proxy) would be lost for every npm a test starts. Environment variables
// outrank npmrc files for both npm and pnpm, and turbo passes npm_config_* to every task
// (turbo.json's globalPassThroughEnv).
// Plain Node, no dependencies: bootstrap.mjs imports it before anything is installed.
import { spawnSync } from 'node:child_process';

/** The settings that decide whether and how the registry is reached: certificates, proxies, where. */
export const NETWORK_SETTINGS = ['cafile', 'proxy', 'https-proxy', 'noproxy', 'strict-ssl', 'registry'];

/**
 * The {@link NETWORK_SETTINGS} that `npm` (a command line, e.g. `['npm']` or
 * `[npm_node_execpath, npm_execpath]`) has set, as `npm_config_*` variables; those `env` already
 * sets are left out (they reach the children anyway and win). Empty when npm cannot be asked.
 * @param {string[]} npm
 * @param {NodeJS.ProcessEnv} [env] the environment npm runs in, and whose variables win.
 * @returns {Record<string, string>}
 */
export function npmNetworkEnv([cmd = 'npm', ...pre], env = process.env) {
  const result = spawnSync(cmd, [...pre, 'config', 'get', ...NETWORK_SETTINGS], { encoding: 'utf8', env });
  if (result.status !== 0 || typeof result.stdout !== 'string') return {};
  /** @type {Record<string, string>} */
  const found = {};
  for (const line of result.stdout.split('\n')) {
    const [, key, value] = /^([a-z-]+)=(.*)$/.exec(line.trim()) ?? [];
    if (key === undefined || value === undefined || value === '' || value === 'null') continue;
    const name = `npm_config_${key.replaceAll('-', '_')}`;
    if (env[name] === undefined && env[name.toUpperCase()] === undefined) found[name] = value;
  }
  return found;
}
