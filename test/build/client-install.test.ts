// @syncline/client as an app outside the repository gets it: `npm pack` (whose prepack builds it),
// installed with npm into a new app under the system's temp directory from the tarball and the
// registry alone, then run by plain Node, type-checked by a strict TypeScript consumer, bundled for
// browsers by esbuild, and synced by two clients through the server `npm start` runs.
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';
import { promisify } from 'node:util';
import * as esbuild from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type ServerProcess } from '../support/server-process.js';

const run = promisify(execFile);
const repo = join(import.meta.dirname, '../..');
const clientDir = join(repo, 'packages/client');
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

interface PackResult {
  filename: string;
  size: number;
  unpackedSize: number;
  files: Array<{ path: string }>;
}

let appDir = '';
let buildOutput = '';
let packed: PackResult;

beforeAll(async () => {
  appDir = mkdtempSync(join(tmpdir(), 'syncline-app-'));
  // npm prints the prepack build's output before the JSON.
  const { stdout } = await run(npm, ['pack', '--json', '--pack-destination', appDir], {
    cwd: clientDir,
    maxBuffer: 16 * 1024 * 1024,
  });
  const json = stdout.indexOf('\n[');
  buildOutput = stdout.slice(0, json);
  packed = (JSON.parse(stdout.slice(json + 1)) as PackResult[])[0]!;
  console.log(buildOutput.trim());

  writeFileSync(
    join(appDir, 'package.json'),
    JSON.stringify({ name: 'syncline-app', private: true, type: 'module' }),
  );
  await run(
    npm,
    [
      'install',
      join(appDir, packed.filename),
      'react@19',
      '--prefer-offline',
      '--no-audit',
      '--no-fund',
    ],
    { cwd: appDir },
  );
  // better-sqlite3 (an optional peer, for /sqlite) is the repository's, already compiled: a
  // native build per run would be most of this file's time.
  for (const name of ['better-sqlite3', 'bindings', 'file-uri-to-path']) {
    const from = join(repo, 'node_modules', name);
    cpSync(from, join(appDir, 'node_modules', name), {
      recursive: true,
      filter: (path) =>
        !/^(deps|src|build[/\\]Release[/\\](obj|obj\.target))([/\\]|$)/.test(relative(from, path)),
    });
  }
}, 300_000);

afterAll(() => {
  if (appDir) rmSync(appDir, { recursive: true, force: true });
});

describe('@syncline/client installed from its npm pack tarball', () => {
  it('packs the build, its README and LICENSE, and nothing from the workspace', () => {
    const paths = packed.files.map((f) => f.path);
    expect(paths).toEqual(
      expect.arrayContaining([
        'package.json',
        'README.md',
        'LICENSE',
        'dist/index.js',
        'dist/react.js',
        'dist/sqlite.js',
        'dist/browser/syncline-client.min.js',
        'dist/types/client/src/index.d.ts',
      ]),
    );
    expect(paths.filter((p) => !p.startsWith('dist/'))).toEqual([
      'LICENSE',
      'README.md',
      'package.json',
    ]);
    expect(
      paths.filter((p) => /\.test\.|[/\\]testing[/\\]|\.ts$/.test(p) && !p.endsWith('.d.ts')),
    ).toEqual([]);
    const installed = JSON.parse(
      readFileSync(join(appDir, 'node_modules/@syncline/client/package.json'), 'utf8'),
    ) as { dependencies: Record<string, string> };
    // The protocol is bundled in: only registry packages are dependencies.
    expect(Object.keys(installed.dependencies).filter((d) => d.startsWith('@syncline/'))).toEqual(
      [],
    );
    expect(existsSync(join(appDir, 'node_modules/@syncline/protocol'))).toBe(false);
  });

  it('prints the minified and gzipped size of the browser bundle', () => {
    expect(buildOutput).toMatch(/browser bundle .*: \d+\.\d KiB minified, \d+\.\d KiB gzipped/);
  });

  it('is imported by a plain node script through every entry point', async () => {
    const script = join(appDir, 'consumer.mjs');
    writeFileSync(
      script,
      `
      import * as client from '@syncline/client';
      import * as react from '@syncline/client/react';
      import { sqliteStorage } from '@syncline/client/sqlite';
      import * as browser from '@syncline/client/browser';
      import * as sw from '@syncline/client/sw';

      const memory = client.memoryStorage();
      await memory.write([{ kind: 'setMeta', key: 'k', value: 'from memory' }]);
      const sqlite = sqliteStorage(':memory:');
      await sqlite.write([{ kind: 'setMeta', key: 'k', value: 'from sqlite' }]);
      const encrypted = await client.encryptLocalStore(client.memoryStorage(), {
        passphrase: 'p',
        iterations: 1000,
      });
      await encrypted.write([{ kind: 'setMeta', key: 'k', value: 'from encrypted' }]);

      // A client with no server to reach: changes are local and instant, and wait in the outbox.
      const sync = client.createSyncClient({
        url: 'http://127.0.0.1:9',
        getToken: () => 'token',
        storage: client.memoryStorage(),
        realtime: false,
        fetch: async () => { throw new TypeError('offline'); },
      });
      const tasks = sync.collection('task');
      const id = await tasks.create({ title: 'built' });
      const task = await tasks.get(id);
      const pending = sync.status.pending;
      await sync.close();

      // The self-contained bundle works on its own too.
      const store = browser.memoryStorage();
      await store.write([{ kind: 'setMeta', key: 'k', value: 'from the bundle' }]);

      console.log(JSON.stringify({
        task,
        pending,
        exports: Object.keys(client).sort(),
        browser: Object.keys(browser).sort(),
        sw: Object.keys(sw).sort(),
        react: Object.keys(react).sort(),
        values: [
          await memory.getMeta('k'),
          await sqlite.getMeta('k'),
          await encrypted.getMeta('k'),
          await store.getMeta('k'),
        ],
      }));
      `,
    );
    const { stdout } = await run(process.execPath, [script], { cwd: appDir });
    const result = JSON.parse(stdout) as {
      task: { id: string; title: string };
      pending: number;
      exports: string[];
      browser: string[];
      sw: string[];
      react: string[];
      values: string[];
    };
    expect(result.task).toEqual({ id: expect.any(String), title: 'built' });
    expect(result.pending).toBe(1);
    expect(result.exports).toEqual(
      expect.arrayContaining([
        'createSyncClient',
        'memoryStorage',
        'indexedDbStorage',
        'encryptLocalStore',
      ]),
    );
    expect(result.exports).not.toContain('sqliteStorage');
    expect(result.browser).toEqual(result.exports);
    expect(result.react).toEqual(['useEntity', 'useQuery', 'useSyncStatus']);
    expect(result.sw).toEqual(
      expect.arrayContaining(['handleBackgroundSync', 'registerBackgroundSync', 'tokenFromPages']),
    );
    expect(result.values).toEqual([
      'from memory',
      'from sqlite',
      'from encrypted',
      'from the bundle',
    ]);
  }, 60_000);

  it.each([
    { module: 'ESNext', moduleResolution: 'Bundler' },
    { module: 'Node16', moduleResolution: 'Node16' },
  ])(
    'gives a strict TypeScript consumer the types of every entry point ($moduleResolution)',
    async (resolution) => {
      const name = `consumer-${resolution.moduleResolution.toLowerCase()}`;
      writeFileSync(
        join(appDir, `${name}.ts`),
        `
        import { createSyncClient, memoryStorage, type LocalStore, type SyncStatus } from '@syncline/client';
        import { useEntity, useQuery, useSyncStatus } from '@syncline/client/react';
        import { sqliteStorage } from '@syncline/client/sqlite';
        import { createSyncClient as fromBundle } from '@syncline/client/browser';
        import { registerBackgroundSync } from '@syncline/client/sw';

        export const stores: LocalStore[] = [memoryStorage(), sqliteStorage(':memory:')];
        const client = createSyncClient({ url: 'http://x', getToken: () => 't', storage: stores[0]! });
        export const same: typeof createSyncClient = fromBundle;
        // The hooks accept the client and its collections as they are.
        export const status = (): SyncStatus => useSyncStatus(client);
        export const titles = () => useQuery(client.collection<{ title: string }>('task')).data.map((t) => t.title);
        export const one = (id: string) => useEntity(client.collection<{ title: string }>('task'), id).data?.title;
        export const stopBackgroundSync: () => void = registerBackgroundSync(client);
        // @ts-expect-error: the declarations are real types, not any
        export const wrong: number = memoryStorage();
        `,
      );
      writeFileSync(
        join(appDir, `tsconfig.${name}.json`),
        JSON.stringify({
          compilerOptions: {
            ...resolution,
            target: 'ES2022',
            lib: ['ES2023', 'DOM'],
            types: [],
            strict: true,
            noUncheckedIndexedAccess: true,
            exactOptionalPropertyTypes: true,
            noEmit: true,
            skipLibCheck: false,
          },
          files: [`${name}.ts`],
        }),
      );
      // tsc reports on stdout: show it if the check fails.
      const checked = await run(
        process.execPath,
        [tsc, '-p', join(appDir, `tsconfig.${name}.json`)],
        { cwd: appDir },
      ).then(
        () => 'no errors',
        (error: { stdout?: string }) => error.stdout ?? String(error),
      );
      expect(checked).toBe('no errors');
    },
    120_000,
  );

  it('bundles for browsers from the ES modules, one core shared by the main entry and /react', async () => {
    const entry = join(appDir, 'main.js');
    writeFileSync(
      entry,
      `
      import { createSyncClient, indexedDbStorage } from '@syncline/client';
      import { useQuery } from '@syncline/client/react';
      import { registerBackgroundSync } from '@syncline/client/sw';
      export const client = createSyncClient({
        url: location.origin,
        getToken: () => 'token',
        storage: indexedDbStorage('app'),
      });
      export const useTasks = () => useQuery(client.collection('task'));
      registerBackgroundSync(client);
      `,
    );
    const result = await esbuild.build({
      entryPoints: [entry],
      absWorkingDir: appDir,
      outfile: join(appDir, 'out/main.js'),
      bundle: true,
      format: 'esm',
      platform: 'browser',
      metafile: true,
      logLevel: 'silent',
    });
    const inputs = Object.keys(result.metafile.inputs).map((p) => p.split(sep).join('/'));
    expect(inputs.filter((p) => p.startsWith('node:'))).toEqual([]);
    expect(inputs.filter((p) => p !== 'main.js' && !p.startsWith('node_modules/'))).toEqual([]);
    const client = inputs.filter((p) => p.startsWith('node_modules/@syncline/client/'));
    expect(client).toEqual(
      expect.arrayContaining([
        'node_modules/@syncline/client/dist/index.js',
        'node_modules/@syncline/client/dist/react.js',
        'node_modules/@syncline/client/dist/sw.js',
      ]),
    );
    expect(client.filter((p) => p.includes('/dist/browser/') || p.includes('/sqlite'))).toEqual([]);
  }, 60_000);

  it('fails to bundle for browsers when the graph reaches a Node built-in', async () => {
    const entry = join(appDir, 'uses-node.ts');
    writeFileSync(
      entry,
      `import { createHash } from 'node:crypto';\nexport const h = createHash;\n`,
    );
    const { bundleForBrowser } = (await import(join(clientDir, 'scripts/browser-bundle.mjs'))) as {
      bundleForBrowser: (entry: string, outfile: string) => Promise<unknown>;
    };
    await expect(bundleForBrowser(entry, join(appDir, 'out.js'))).rejects.toThrow(
      /may not import the Node built-in "node:crypto"/,
    );
  });

  describe('against the server `npm start` runs', () => {
    let server: ServerProcess;
    beforeAll(async () => {
      // prestart builds the dashboard when its build is missing or stale.
      server = await startServer({ command: 'npm start', startTimeoutMs: 240_000 });
    }, 300_000);
    afterAll(() => server?.stop());

    it('a record one client makes reaches the other', async () => {
      const script = join(appDir, 'two-clients.mjs');
      writeFileSync(
        script,
        `
        import { createSyncClient, memoryStorage } from '@syncline/client';
        import { sqliteStorage } from '@syncline/client/sqlite';

        const [url, tokenA, tokenB, dbFile] = process.argv.slice(2);
        const a = createSyncClient({ url, getToken: () => tokenA, storage: memoryStorage(), realtime: false });
        const b = createSyncClient({ url, getToken: () => tokenB, storage: sqliteStorage(dbFile), realtime: false });
        const id = await a.collection('task').create({ title: 'Check the pump', done: false });
        const pushed = await a.syncNow();
        const pulled = await b.syncNow();
        const seen = await b.collection('task').get(id);
        const status = { a: a.status.pending, b: b.status.pending };
        await a.close();
        await b.close();
        console.log(JSON.stringify({ id, seen, status, pushed, pulled }));
        `,
      );
      const { stdout } = await run(
        process.execPath,
        [
          script,
          server.url,
          server.token('u1', 't1'),
          server.token('u2', 't1'),
          join(appDir, 'device-b.sqlite'),
        ],
        { cwd: appDir },
      );
      const result = JSON.parse(stdout) as {
        id: string;
        seen: unknown;
        status: { a: number; b: number };
      };
      expect(result.seen, stdout).toEqual({ id: result.id, title: 'Check the pump', done: false });
      expect(result.status).toEqual({ a: 0, b: 0 });
    }, 60_000);
  });
});
