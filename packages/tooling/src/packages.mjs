// @ts-check
// The packages published to npm for other services (@triggers/event-schema, @triggers/client):
// packing them as npm would receive them, and linting what was packed.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** The published packages' folders, each depended on before its dependents. */
export const PUBLISHED_PACKAGES = ['event-schema', 'client'].map((name) => join(root, 'packages', name));

/**
 * The pinned pnpm as a command line: the running one when a pnpm script started us (no npx round
 * trip), else fetched through npx.
 * @returns {string[]}
 */
function pnpmCommand() {
  const { packageManager } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  const agent = process.env.npm_config_user_agent ?? '';
  const execPath = process.env.npm_execpath ?? '';
  // npm_execpath names npm when pnpm itself was started by npx: only pnpm applies publishConfig.
  if (agent.startsWith(`${packageManager.replace('@', '/')} `) && /pnpm/.test(execPath)) {
    return [process.execPath, execPath];
  }
  return [process.platform === 'win32' ? 'npx.cmd' : 'npx', '--yes', packageManager];
}

/**
 * Runs `command` in `cwd` (with `env` added to this process's); throws with its output when it fails.
 * @param {string[]} command
 * @param {string} cwd
 * @param {Record<string, string>} [env]
 * @returns {string} what it printed.
 */
export function run([cmd = '', ...args], cwd, env = {}) {
  const result = spawnSync(cmd, args, {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1', ...env },
  });
  const output = `${result.stdout ?? ''}${result.stderr ?? ''}`;
  if (result.status !== 0) {
    throw new Error(
      `${[cmd, ...args].join(' ')} failed (${result.status ?? result.signal}) in ${cwd}:\n${output}`,
    );
  }
  return output;
}

/**
 * Packs the package in `dir` with `pnpm pack` (which builds it first, through its `prepack`
 * script, and applies its `publishConfig`) into `destination`.
 * @param {string} dir
 * @param {string} destination an empty folder.
 * @returns {string} the tarball's path.
 */
export function packPackage(dir, destination) {
  run([...pnpmCommand(), 'pack', '--pack-destination', destination], dir);
  const name = readdirSync(destination).find((file) => file.endsWith('.tgz'));
  if (name === undefined) throw new Error(`pnpm pack left no tarball in ${destination}`);
  return join(destination, name);
}

/**
 * The command line of a tool that a devDependency of the package in `dir` ships, run with this Node.
 * @param {string} dir
 * @param {string} packageName
 * @param {string} bin
 */
function binOf(dir, packageName, bin) {
  const home = join(dir, 'node_modules', packageName);
  const manifest = JSON.parse(readFileSync(join(home, 'package.json'), 'utf8'));
  const relative = typeof manifest.bin === 'string' ? manifest.bin : manifest.bin[bin];
  return [process.execPath, join(home, relative)];
}

/**
 * Packs the package in `dir` and lints the tarball as npm would receive it: publint (exports,
 * files, types, strict: warnings fail too), then Are the Types Wrong (its types resolve under
 * node16 and bundler; `esm-only`, since these packages ship no CommonJS).
 * @param {string} dir
 * @returns {string} what both printed.
 */
export function checkPackage(dir) {
  const destination = mkdtempSync(join(tmpdir(), 'triggers-pack-'));
  try {
    const tarball = packPackage(dir, destination);
    return [
      run([...binOf(dir, 'publint', 'publint'), 'run', tarball, '--strict'], dir),
      run([...binOf(dir, '@arethetypeswrong/cli', 'attw'), tarball, '--profile', 'esm-only'], dir),
    ].join('\n');
  } finally {
    rmSync(destination, { recursive: true, force: true });
  }
}
