// Builds @syncline/client into dist/: ESM JavaScript for every entry point (with
// @syncline/protocol bundled in, so that the package runs under plain Node), their type
// declarations, and a minified browser bundle of the main entry that may not use a Node built-in.
// Prints the browser bundle's minified and gzipped size.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';
import { bundleForBrowser, isNodeBuiltin } from './browser-bundle.mjs';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const dist = join(root, 'dist');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const entryPoints = {
  index: join(root, 'src/index.ts'),
  react: join(root, 'src/react/index.ts'),
  sqlite: join(root, 'src/sqlite.ts'),
  sw: join(root, 'src/sw/index.ts'),
};
// Workspace packages (the protocol) are bundled in; other dependencies stay imports.
const dependencies = [
  ...Object.keys(pkg.dependencies ?? {}),
  ...Object.keys(pkg.peerDependencies ?? {}),
].filter((name) => !name.startsWith('@syncline/'));

rmSync(dist, { recursive: true, force: true });

// 1. The package's JavaScript: one ESM file per entry point, shared code in chunks.
await esbuild.build({
  entryPoints,
  outdir: dist,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'neutral',
  mainFields: ['module', 'main'],
  target: 'es2022',
  sourcemap: true,
  logLevel: 'warning',
  plugins: [
    {
      name: 'external-dependencies',
      setup(build) {
        build.onResolve({ filter: /^[^./]/ }, (args) => {
          const isDependency = dependencies.some(
            (name) => args.path === name || args.path.startsWith(`${name}/`),
          );
          return isDependency || isNodeBuiltin(args.path)
            ? { path: args.path, external: true }
            : undefined;
        });
      },
    },
  ],
});

// 2. Type declarations. The protocol's are emitted beside the client's, and the client's imports
// of '@syncline/protocol' are pointed at them, so the types need no TypeScript sources.
const require = createRequire(import.meta.url);
const tsc = require.resolve('typescript/bin/tsc');
execFileSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], {
  stdio: 'inherit',
});
const protocolTypes = join(dist, 'types/protocol/src/index.js');
for (const file of walk(join(dist, 'types/client'))) {
  if (!file.endsWith('.d.ts')) continue;
  const text = readFileSync(file, 'utf8');
  let target = relative(dirname(file), protocolTypes).split(sep).join('/');
  if (!target.startsWith('.')) target = `./${target}`;
  const rewritten = text.replace(/(['"])@syncline\/protocol\1/g, `$1${target}$1`);
  if (rewritten !== text) writeFileSync(file, rewritten);
}

// 3. The browser bundle of the main entry.
const browserFile = join(dist, 'browser/syncline-client.min.js');
const size = await bundleForBrowser(entryPoints.index, browserFile);
const kib = (bytes) => `${(bytes / 1024).toFixed(1)} KiB`;
console.log(
  `@syncline/client browser bundle (${relative(root, browserFile)}): ` +
    `${kib(size.minified)} minified, ${kib(size.gzipped)} gzipped`,
);

function* walk(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) yield* walk(path);
    else yield path;
  }
}
