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

export default tseslint.config(
  {
    ignores: [
      '**/node_modules/**',
      '**/dist/**',
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
          ],
        },
      ],
    },
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
