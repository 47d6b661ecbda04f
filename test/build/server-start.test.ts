// `npm start` on a tree without a server build builds it first, then runs that JavaScript with
// node (never TypeScript through a loader), and the server answers and serves the web apps from
// the same folders as it would from its sources; `npm run syncline` and the `syncline` command
// build and run it too.
import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { expect, it } from 'vitest';
import { repoRoot, serverCliPath } from '../support/build-if-stale.js';
import { startServer } from '../support/server-process.js';

/** The command line and working directory of every process in a process group (Linux /proc). */
function processGroup(pgid: number): { argv: string[]; cwd: string }[] {
  const commands: { argv: string[]; cwd: string }[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // Fields after the command name, which sits in parentheses: state, ppid, pgrp, …
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const pgrp = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
      if (pgrp !== pgid) continue;
      const argv = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').filter(Boolean);
      commands.push({ argv, cwd: readlinkSync(`/proc/${entry}/cwd`) });
    } catch {
      // The process ended while it was read.
    }
  }
  return commands;
}

const stamp = join(repoRoot, 'packages/server/dist/.build-stamp');

it('builds the missing server build on npm start, then runs node on dist/cli.js', async () => {
  // The stamp is written last by a complete build: without it the build counts as missing. The
  // folder itself stays, as other test files may start a server from it meanwhile; the build
  // swaps a new one in whole.
  rmSync(stamp, { force: true });
  const startedAt = Date.now();
  const server = await startServer({ command: 'npm start', startTimeoutMs: 240_000 });
  try {
    expect(existsSync(stamp), server.output()).toBe(true);
    expect(statSync(stamp).mtimeMs).toBeGreaterThanOrEqual(startedAt - 1000);

    // npm leads the process group it was started in; the server is one of its descendants.
    const commands = processGroup(server.pid);
    const serving = commands.find(({ argv, cwd }) =>
      argv.some((arg) => resolve(cwd, arg) === serverCliPath),
    );
    expect(serving, JSON.stringify(commands)).toBeDefined();
    expect(basename(serving!.argv[0]!)).toBe('node');
    expect(serving!.argv).toContain('serve');
    const args = commands.flatMap(({ argv }) => argv);
    expect(
      args.some((arg) => /(^|[/@\s])tsx\b/.test(arg)),
      JSON.stringify(args),
    ).toBe(false);

    const ready = await fetch(`${server.url}/readyz`);
    expect(await ready.json()).toEqual({ status: 'ok' });
    const dashboard = await fetch(`${server.url}/admin/`);
    expect(dashboard.status).toBe(200);
    expect(dashboard.headers.get('content-type')).toContain('text/html');
    const field = await fetch(`${server.url}/app/`);
    expect(field.status).toBe(200);
    expect(field.headers.get('content-type')).toContain('text/html');
  } finally {
    await server.stop();
  }
}, 300_000);

it('npm run syncline builds a missing server build, printing only what the command prints', () => {
  rmSync(stamp, { force: true });
  const dataDir = mkdtempSync(join(tmpdir(), 'syncline-start-'));
  try {
    const env: NodeJS.ProcessEnv = { ...process.env, SYNCLINE_DATA_DIR: dataDir };
    delete env.SYNCLINE_JWT_SECRET;
    const run = spawnSync(
      'npm',
      ['run', '--silent', 'syncline', '--', 'token', '--sub', 'u1', '--tenant', 't1'],
      { cwd: repoRoot, env, encoding: 'utf8' },
    );
    expect(run.status, run.stderr).toBe(0);
    expect(run.stderr).toContain('Building server');
    // What the build prints goes to stderr: the output is the token alone, ready for $(…).
    expect(run.stdout).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+\n$/);
    expect(existsSync(stamp)).toBe(true);

    const bin = spawnSync(
      process.execPath,
      [join(repoRoot, 'packages/server/bin/syncline.js'), 'help'],
      {
        cwd: repoRoot,
        env,
        encoding: 'utf8',
      },
    );
    expect(bin.status, bin.stderr).toBe(0);
    expect(bin.stdout).toContain('Usage: syncline <command>');
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}, 120_000);
