// Builds the server into dist/ as plain JavaScript: dist/cli.js (what `npm start` and the
// `syncline` command run with node), the chunks it imports on demand, and their source maps. One ESM bundle of the server's own
// sources and @syncline/protocol (a workspace package whose exports are TypeScript sources);
// every npm dependency stays an import, so native modules (better-sqlite3) load as installed.
// The bundle sits at the same depth as src/, so paths it resolves from import.meta.url (the web
// apps' builds) are the same from dist as from src.
//
// It builds beside dist/ and swaps the folder in at the end: a server starting meanwhile runs
// the previous build, never a half-written one.
import { renameSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const dist = join(root, 'dist');
const staging = join(root, `dist.${process.pid}.tmp`);
const retired = join(root, `dist.${process.pid}.old`);

rmSync(staging, { recursive: true, force: true });
try {
  await esbuild.build({
    entryPoints: { cli: join(root, 'src/cli.ts') },
    outdir: staging,
    bundle: true,
    // What loads only on demand (the Redis scheduler) gets a file of its own, loaded then.
    splitting: true,
    chunkNames: '[name]-[hash]',
    format: 'esm',
    platform: 'node',
    target: 'node20',
    sourcemap: true,
    // Only the sources this package holds go into the map: a stack trace needs no copy of them.
    sourcesContent: false,
    logLevel: 'warning',
    plugins: [
      {
        // Workspace packages (@syncline/*) are bundled; every other bare import stays external.
        name: 'external-dependencies',
        setup(build) {
          build.onResolve({ filter: /^[^./]/ }, (args) =>
            args.path.startsWith('@syncline/') ? undefined : { path: args.path, external: true },
          );
        },
      },
    ],
  });
  rmSync(retired, { recursive: true, force: true });
  try {
    renameSync(dist, retired);
  } catch (error) {
    if (error.code !== 'ENOENT') throw error;
  }
  renameSync(staging, dist);
  rmSync(retired, { recursive: true, force: true });
} finally {
  rmSync(staging, { recursive: true, force: true });
}
