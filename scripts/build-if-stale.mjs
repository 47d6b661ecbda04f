#!/usr/bin/env node
// Builds the server (to JavaScript in packages/server/dist) and each web app it serves when a build
// is missing or older than its sources, so that `npm start` on a fresh clone runs and serves them
// with nothing else to run. `npm start` runs it first (prestart), `npm run syncline` and the
// `syncline` command build the server alone, and so do the tests that start a server process. A
// lock directory keeps two runs from building at once. What the builds print goes to stderr: the
// stdout of `npm run --silent syncline -- token …` is the token alone.
//
//   node scripts/build-if-stale.mjs [--force] [name …]
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..');

/**
 * What to build: a workspace, the paths (files or folders, relative to the repository) whose
 * changes make its build stale, and its output folder. Add an app here and it is built too.
 */
export const buildTargets = [
  {
    name: 'server',
    workspace: 'packages/server',
    sources: [
      'packages/server/src',
      'packages/server/scripts',
      'packages/server/package.json',
      'packages/protocol/src',
      'packages/protocol/package.json',
    ],
    output: 'packages/server/dist',
  },
  {
    name: 'dashboard',
    workspace: 'apps/dashboard',
    sources: [
      'apps/dashboard/src',
      'apps/dashboard/public',
      'apps/dashboard/index.html',
      'apps/dashboard/vite.config.ts',
      'apps/dashboard/package.json',
      'packages/protocol/src',
    ],
    output: 'apps/dashboard/dist',
  },
  {
    name: 'field',
    workspace: 'apps/field',
    sources: [
      'apps/field/src',
      'apps/field/public',
      'apps/field/index.html',
      'apps/field/vite.config.ts',
      'apps/field/package.json',
      'packages/client/src',
      'packages/protocol/src',
    ],
    output: 'apps/field/dist',
  },
];

/** Written last by a successful build: a build that failed half-way has none and is stale. */
const stampName = '.build-stamp';
const lockWaitMs = 5 * 60_000;

/** The newest modification time under a path (0 when it does not exist). */
function newestMtime(path) {
  if (!existsSync(path)) return 0;
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let newest = stat.mtimeMs;
  for (const entry of readdirSync(path)) {
    if (entry === 'node_modules' || entry.startsWith('.')) continue;
    newest = Math.max(newest, newestMtime(join(path, entry)));
  }
  return newest;
}

export function isStale(target) {
  const stamp = join(repoRoot, target.output, stampName);
  if (!existsSync(stamp)) return true;
  const built = statSync(stamp).mtimeMs;
  return target.sources.some((source) => newestMtime(join(repoRoot, source)) > built);
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Holds `<output>.lock` while `fn` runs; another run waits for it, then re-checks staleness. */
async function withLock(target, fn) {
  const lock = join(repoRoot, `${target.output}.lock`);
  const deadline = Date.now() + lockWaitMs;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch (error) {
      if (error.code !== 'EEXIST') throw error;
      // A lock older than the wait is left over from a killed run.
      if (Date.now() - statSync(lock, { throwIfNoEntry: false })?.mtimeMs > lockWaitMs) {
        rmSync(lock, { recursive: true, force: true });
        continue;
      }
      if (Date.now() > deadline) throw new Error(`${lock} is held by another build`);
      await sleep(250);
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

export async function buildIfStale(target, { force = false, log = console.error } = {}) {
  if (!force && !isStale(target)) return false;
  return withLock(target, async () => {
    if (!force && !isStale(target)) return false;
    log(`Building ${target.name} (${target.workspace})…`);
    const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
    const result = spawnSync(npm, ['run', 'build', '--silent', '--workspace', target.workspace], {
      cwd: repoRoot,
      // A test runner's NODE_ENV=test would otherwise ship React's development build.
      env: { ...process.env, NODE_ENV: 'production' },
      stdio: ['ignore', process.stderr, 'inherit'],
    });
    if (result.status !== 0) {
      throw new Error(`building ${target.name} failed (exit ${result.status ?? result.signal})`);
    }
    writeFileSync(join(repoRoot, target.output, stampName), new Date().toISOString() + '\n');
    return true;
  });
}

async function main(argv) {
  const force = argv.includes('--force');
  const names = argv.filter((arg) => !arg.startsWith('--'));
  const unknown = names.filter((name) => !buildTargets.some((t) => t.name === name));
  if (unknown.length > 0) throw new Error(`no build target named ${unknown.join(', ')}`);
  for (const target of buildTargets) {
    if (names.length === 0 || names.includes(target.name)) await buildIfStale(target, { force });
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main(process.argv.slice(2)).catch((error) => {
    console.error(`build-if-stale: ${error.message}`);
    process.exit(1);
  });
}
