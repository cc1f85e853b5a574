// @ts-check
// The previous design, measured in the same run: a commit of this repository extracted into a
// temporary folder (`git archive`: the repository's worktrees and index are left alone), its
// dependencies installed offline from the pnpm store, and its own harness (`startSystem` of its
// packages/tooling) starting its own Workers.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { root } from '@triggers/tooling';

/** @param {string[]} args */
const git = (args) => execFileSync('git', args, { cwd: root, encoding: 'utf8' }).trim();

/**
 * The commit to compare with. Without `ref`: where this branch left main (`git merge-base HEAD
 * main`, or `origin/main`), that is the tree before this branch's change; when HEAD is on main
 * already (the branch merged, so the merge base is HEAD), HEAD's first parent: main before the
 * last merge.
 * @param {string | undefined} ref
 * @returns {{ ref: string, commit: string, chosen: string }}
 */
export function baselineCommit(ref) {
  if (ref) return { ref, commit: git(['rev-parse', '--verify', `${ref}^{commit}`]), chosen: 'given' };
  const head = git(['rev-parse', 'HEAD']);
  for (const main of ['main', 'origin/main']) {
    let base;
    try {
      base = git(['merge-base', 'HEAD', main]);
    } catch {
      continue;
    }
    if (base !== head)
      return { ref: `merge-base HEAD ${main}`, commit: base, chosen: 'merge base with main' };
    return {
      ref: 'HEAD^1',
      commit: git(['rev-parse', 'HEAD^1']),
      chosen: 'HEAD is on main: its first parent',
    };
  }
  throw new Error('[bench] no main branch to take the baseline from: pass --baseline-ref <git ref>');
}

/**
 * Extracts `commit` into `dir` and installs its dependencies offline (the store already holds
 * them when the lockfile changed little; a missing package fails the install, and the run).
 * @param {string} commit
 * @param {string} dir
 */
export function extractTree(commit, dir) {
  execFileSync('sh', ['-c', `git archive --format=tar "${commit}" | tar -x -C "${dir}"`], { cwd: root });
  execFileSync('npx', ['--yes', 'pnpm@10.34.9', 'install', '--frozen-lockfile', '--offline'], {
    cwd: dir,
    stdio: ['ignore', 'ignore', 'inherit'],
    // Not CI's frozen-install heuristics nor this run's own pnpm state: a plain install of that tree.
    env: { ...process.env, npm_config_user_agent: '' },
  });
}

/**
 * `startSystem` of the tree in `dir` (its own harness, Workers, configs and wrangler).
 * @param {string} dir
 * @returns {Promise<typeof import('@triggers/tooling/system').startSystem>}
 */
export async function startSystemOf(dir) {
  const system = await import(pathToFileURL(join(dir, 'packages', 'tooling', 'src', 'system.mjs')).href);
  return system.startSystem;
}
