// Runs scripts/build-if-stale.mjs, the script `npm start` runs first, for some of its targets (all
// when none is named), so that a test sees builds of the current sources.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

export function buildIfStale(...targets: string[]): void {
  const script = join(repoRoot, 'scripts/build-if-stale.mjs');
  const result = spawnSync(process.execPath, [script, ...targets], { stdio: 'inherit' });
  if (result.status !== 0) {
    throw new Error(`building ${targets.join(', ') || 'everything'} failed (${result.status})`);
  }
}

/** The server's JavaScript build, which `npm start` and the `syncline` command run. */
export const serverCliPath = join(repoRoot, 'packages/server/dist/cli.js');

/** Node's options in `npm start` (`node <options> packages/server/dist/cli.js serve`). */
function startNodeOptions(): string[] {
  const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as {
    scripts: Record<string, string>;
  };
  const words = pkg.scripts.start!.split(/\s+/);
  const cli = words.indexOf('packages/server/dist/cli.js');
  if (words[0] !== 'node' || cli < 0) throw new Error(`npm start runs no built server: ${words}`);
  return words.slice(1, cli);
}

let serverBuilt = false;

/**
 * Node's arguments that run the built server CLI with `args` as `npm start` does (its options
 * too); the build is brought up to date first (once per test process).
 */
export function builtServerArgs(...args: string[]): string[] {
  if (!serverBuilt) {
    buildIfStale('server');
    serverBuilt = true;
  }
  return [...startNodeOptions(), serverCliPath, ...args];
}
