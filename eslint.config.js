// Lint for the whole monorepo: typescript-eslint's recommended rules plus the layering of
// DESIGN.md as import zones, so that a dependency pointing outwards fails `npm run lint`.
import { builtinModules } from 'node:module';
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { createNodeResolver, importX } from 'eslint-plugin-import-x';
import globals from 'globals';

// Anchored regexes, not gitignore-style groups: a group `path` would also match './path/x.js'.
const anyOf = (names) => `^(${names.map((n) => n.replace(/\./g, '\\.')).join('|')})(/.*)?$`;
// Both spellings of every Node built-in: `node:fs` and bare `fs`.
const nodeBuiltins = `^node:|${anyOf(builtinModules.filter((name) => !name.startsWith('_')))}`;
const databaseAndHttpLibraries = anyOf([
  'fastify',
  '@fastify/[^/]+',
  'fastify-plugin',
  'kysely',
  'better-sqlite3',
  'pg',
  'pg-pool',
  'ioredis',
  'redis',
  'pino',
  'jose',
]);

// packages/server/src: each folder and the folders it may import (besides itself, the protocol
// and node_modules). Anything else (testing/ included) is refused, so that a new import pointing
// outwards, or one that closes a cycle between folders, fails lint.
const serverSrc = './packages/server/src';
const serverFolders = {
  engine: { may: [], why: 'The engine depends on @syncline/protocol and its own ports only.' },
  config: { may: [], why: 'config/ parses settings: it depends on nothing else of the server.' },
  replay: {
    may: ['engine'],
    why: 'Replay sends queued requests upstream over engine types: it knows no store, route or job.',
  },
  store: {
    may: ['engine', 'replay'],
    why: 'The store implements the engine and replay ports and knows nothing else.',
  },
  realtime: {
    may: ['engine', 'config'],
    why: 'Realtime fans commits out over a bus; its routes live in http/.',
  },
  jobs: {
    may: ['engine', 'replay', 'store', 'config'],
    why: 'Jobs run engine and store work on a schedule: they know nothing of HTTP or realtime.',
  },
  http: {
    may: ['engine', 'store', 'jobs', 'realtime', 'config'],
    why: 'The HTTP layer serves the services it is given: it builds none (app/compose.ts does).',
  },
  seeds: {
    may: ['engine', 'replay', 'http', 'config'],
    why: "A seed translates its own API over the engine, replay and http's helpers; only app/ uses it.",
  },
  app: {
    may: ['engine', 'replay', 'store', 'jobs', 'realtime', 'http', 'seeds', 'config'],
    why: 'The composition root wires the folders: no folder depends on it, it on no test support.',
  },
};
const serverZones = Object.entries(serverFolders).map(([folder, { may, why }]) => ({
  target: `${serverSrc}/${folder}`,
  from: './',
  except: [
    `${serverSrc}/${folder}`,
    ...may.map((other) => `${serverSrc}/${other}`),
    './packages/protocol',
    './node_modules',
    './packages/server/node_modules',
  ],
  message: why,
}));

export default tseslint.config(
  {
    ignores: [
      '**/node_modules/**',
      '**/dist/**',
      '**/dist.*.tmp/**',
      '**/dist.*.old/**',
      'data/**',
      'coverage/**',
      'bench/results/**',
      '.tmp/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    plugins: { 'import-x': importX },
    settings: {
      // Sources import './x.js' for './x.ts' (NodeNext); workspace packages resolve through their
      // node_modules symlink to packages/*/src, which is what the zones below match against.
      'import-x/resolver-next': [
        createNodeResolver({
          extensions: ['.ts', '.tsx', '.js', '.mjs', '.json'],
          extensionAlias: { '.js': ['.ts', '.tsx', '.js'] },
        }),
      ],
    },
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' },
      ],
      'import-x/no-restricted-paths': [
        'error',
        {
          zones: [
            {
              target: './packages/protocol',
              from: './',
              except: ['./packages/protocol', './node_modules'],
              message:
                'packages/protocol is shared by server and client: it imports nothing internal.',
            },
            {
              target: './packages/server/src/engine',
              from: './',
              except: ['./packages/server/src/engine', './packages/protocol', './node_modules'],
              message: 'The engine depends on @syncline/protocol and its own ports only.',
            },
            {
              target: './packages/server/src/store',
              from: './packages/server/src/http',
              message:
                'Dependencies point inwards: the store may use the engine, never the HTTP layer.',
            },
            {
              target: './packages/server/src/store',
              from: './packages/server/src/realtime',
              message: 'Dependencies point inwards: the store knows nothing of realtime fan-out.',
            },
            {
              target: './packages/client',
              from: './packages/server',
              message: 'The client depends on @syncline/protocol only.',
            },
            {
              target: './apps',
              from: './packages/server',
              message: 'The web apps reach the server over HTTP only.',
            },
          ],
        },
      ],
    },
  },
  {
    // The server's folder directions (tests beside the code may use anything). Dependencies point
    // inwards: engine ← replay ← store ← jobs ← http ← seeds ← app (the composition root); realtime
    // and config sit beside the engine; nothing but tests and the CLI reaches testing/, and
    // nothing but app/ reaches seeds/. This block restates the
    // engine and store zones from the list above, because a rule set here replaces that one.
    files: ['packages/server/src/**/*.ts'],
    ignores: ['**/*.test.ts', 'packages/server/src/testing/**'],
    // no-cycle follows imports into .ts files only when it may parse them.
    settings: {
      'import-x/extensions': ['.ts', '.js'],
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts'] },
    },
    rules: {
      'import-x/no-cycle': 'error',
      'import-x/no-restricted-paths': ['error', { zones: serverZones }],
    },
  },
  {
    // The web apps run in browsers.
    files: ['apps/*/src/**/*.{ts,tsx}'],
    languageOptions: { globals: { ...globals.browser } },
  },
  {
    files: ['packages/protocol/src/**/*.ts'],
    ignores: ['**/*.test.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: nodeBuiltins,
              message: 'packages/protocol runs in browsers too: no Node modules.',
            },
          ],
        },
      ],
    },
  },
  {
    // The client's layers (tests beside them may use anything): the core imports only the
    // protocol; the scheduler and the transport build on the core's ports. This block restates
    // the client's zone from the list above, because a rule set here replaces that one.
    files: ['packages/client/src/**/*.ts'],
    ignores: ['**/*.test.ts'],
    rules: {
      'import-x/no-restricted-paths': [
        'error',
        {
          zones: [
            {
              target: './packages/client',
              from: './packages/server',
              message: 'The client depends on @syncline/protocol only.',
            },
            {
              target: './packages/client/src/core',
              from: './',
              except: ['./packages/client/src/core', './packages/protocol'],
              message:
                'The client core imports only @syncline/protocol: storage, transport and signals are injected.',
            },
            {
              target: './packages/client/src/scheduler',
              from: './',
              except: ['./packages/client/src/scheduler', './packages/client/src/core'],
              message: 'The scheduler uses the core ports only; signals are injected.',
            },
            {
              target: './packages/client/src/transport',
              from: './packages/client/src',
              except: ['./transport', './core'],
              message:
                'A transport implements core ports; it knows nothing of storage or scheduling.',
            },
          ],
        },
      ],
    },
  },
  {
    // The client's core, scheduler, transport and service worker parts run in browsers and
    // workers as well as Node.
    files: [
      'packages/client/src/core/**/*.ts',
      'packages/client/src/scheduler/**/*.ts',
      'packages/client/src/transport/**/*.ts',
      'packages/client/src/sw/**/*.ts',
    ],
    ignores: ['**/*.test.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: nodeBuiltins,
              message: 'The client core runs in browsers too: no Node modules.',
            },
          ],
        },
      ],
    },
  },
  {
    // The storage adapters and the React hooks, beside the zones above (restated, because a rule
    // set here replaces theirs): an adapter implements the LocalStore port and knows nothing of
    // syncing; the hooks type the client structurally and import none of its internals. The query
    // language (core/query.ts: conditions, ordering, the reference matcher) is part of the port.
    files: ['packages/client/src/store/**/*.ts', 'packages/client/src/react/**/*.ts'],
    ignores: ['**/*.test.ts'],
    rules: {
      'import-x/no-restricted-paths': [
        'error',
        {
          zones: [
            {
              target: './packages/client',
              from: './packages/server',
              message: 'The client depends on @syncline/protocol only.',
            },
            {
              target: './packages/client/src/store',
              from: './packages/client/src',
              except: ['./store', './core/ports.ts', './core/query.ts'],
              message: 'A storage adapter implements the LocalStore port and knows nothing else.',
            },
            {
              target: './packages/client/src/react',
              from: './packages/client/src',
              except: ['./react', './core/query.ts'],
              message: 'The hooks type the client structurally: they import none of its internals.',
            },
          ],
        },
      ],
    },
  },
  {
    // Everything but the SQLite adapter runs in browsers: no Node modules there.
    files: ['packages/client/src/store/**/*.ts', 'packages/client/src/react/**/*.ts'],
    ignores: ['**/*.test.ts', 'packages/client/src/store/sqlite/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: nodeBuiltins,
              message: 'Browser storage and the hooks run in browsers: no Node modules.',
            },
          ],
        },
      ],
    },
  },
  {
    // Tests beside the engine may use Node (e.g. node:crypto for the Crypto port); the engine
    // itself stays free of I/O so that any store or transport can drive it.
    files: ['packages/server/src/engine/**/*.ts'],
    ignores: ['**/*.test.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: `${nodeBuiltins}|${databaseAndHttpLibraries}`,
              message:
                'The engine imports only @syncline/protocol and itself: no HTTP, database or node:* module.',
            },
          ],
        },
      ],
    },
  },
);
