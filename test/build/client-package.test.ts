// The built @syncline/client as an app would use it: `npm run build`'s output imported by plain
// Node (no TypeScript loader) through the package's exports, type-checked by a consumer's tsc, and
// a browser bundle that refuses Node built-ins.
import { execFile } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const repo = join(import.meta.dirname, '../..');
const clientDir = join(repo, 'packages/client');
// Inside the repository, so that '@syncline/client' resolves through node_modules like an app's.
const consumerDir = join(repo, '.tmp', `client-package-${process.pid}`);
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');

let buildOutput = '';

beforeAll(async () => {
  const { stdout } = await run(process.execPath, [join(clientDir, 'scripts/build.mjs')], {
    cwd: clientDir,
  });
  buildOutput = stdout;
  mkdirSync(consumerDir, { recursive: true });
}, 180_000);

afterAll(() => rmSync(consumerDir, { recursive: true, force: true }));

describe('the built @syncline/client package', () => {
  it('prints the minified and gzipped size of the browser bundle', () => {
    expect(buildOutput).toMatch(/browser bundle .*: \d+\.\d KiB minified, \d+\.\d KiB gzipped/);
  });

  it('is imported by a plain node script through every entry point', async () => {
    const script = join(consumerDir, 'consumer.mjs');
    writeFileSync(
      script,
      `
      import * as client from '@syncline/client';
      import * as react from '@syncline/client/react';
      import { sqliteStorage } from '@syncline/client/sqlite';

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

      console.log(JSON.stringify({
        task,
        pending,
        exports: Object.keys(client).sort(),
        react: Object.keys(react).sort(),
        values: [await memory.getMeta('k'), await sqlite.getMeta('k'), await encrypted.getMeta('k')],
      }));
      `,
    );
    const { stdout } = await run(process.execPath, [script], { cwd: consumerDir });
    const result = JSON.parse(stdout) as {
      task: { id: string; title: string };
      pending: number;
      exports: string[];
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
    expect(result.react).toEqual(['useEntity', 'useQuery', 'useSyncStatus']);
    expect(result.values).toEqual(['from memory', 'from sqlite', 'from encrypted']);
  }, 60_000);

  it('gives a TypeScript consumer the types of every entry point', async () => {
    writeFileSync(
      join(consumerDir, 'consumer.ts'),
      `
      import { createSyncClient, memoryStorage, type LocalStore, type SyncStatus } from '@syncline/client';
      import { useEntity, useQuery, useSyncStatus } from '@syncline/client/react';
      import { sqliteStorage } from '@syncline/client/sqlite';

      export const stores: LocalStore[] = [memoryStorage(), sqliteStorage(':memory:')];
      const client = createSyncClient({ url: 'http://x', getToken: () => 't', storage: stores[0]! });
      // The hooks accept the client and its collections as they are.
      export const status = (): SyncStatus => useSyncStatus(client);
      export const titles = () => useQuery(client.collection<{ title: string }>('task')).data.map((t) => t.title);
      export const one = (id: string) => useEntity(client.collection<{ title: string }>('task'), id).data?.title;
      // @ts-expect-error: the declarations are real types, not any
      export const wrong: number = memoryStorage();
      `,
    );
    writeFileSync(
      join(consumerDir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          lib: ['ES2023', 'DOM'],
          types: [],
          strict: true,
          noEmit: true,
          skipLibCheck: false,
        },
        files: ['consumer.ts'],
      }),
    );
    // tsc reports on stdout: show it if the check fails.
    const checked = await run(process.execPath, [tsc, '-p', join(consumerDir, 'tsconfig.json')], {
      cwd: consumerDir,
    }).then(
      () => 'no errors',
      (error: { stdout?: string }) => error.stdout ?? String(error),
    );
    expect(checked).toBe('no errors');
  }, 120_000);

  it('fails to bundle for browsers when the graph reaches a Node built-in', async () => {
    const entry = join(consumerDir, 'uses-node.ts');
    writeFileSync(
      entry,
      `import { createHash } from 'node:crypto';\nexport const h = createHash;\n`,
    );
    const { bundleForBrowser } = (await import(join(clientDir, 'scripts/browser-bundle.mjs'))) as {
      bundleForBrowser: (entry: string, outfile: string) => Promise<unknown>;
    };
    await expect(bundleForBrowser(entry, join(consumerDir, 'out.js'))).rejects.toThrow(
      /may not import the Node built-in "node:crypto"/,
    );
  });
});
