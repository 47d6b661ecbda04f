// Builds @syncline/client into dist/: ESM JavaScript for every entry point (with
// @syncline/protocol bundled in, so that the package installs from the registry alone), their type
// declarations, and a minified browser bundle of the main entry that may not use a Node built-in.
// Prints the browser bundle's minified and gzipped size. `npm pack` runs it (prepack).
import { readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';
import ts from 'typescript';
import { bundleForBrowser, isNodeBuiltin } from './browser-bundle.mjs';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const dist = join(root, 'dist');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));

/**
 * The package's entry points: dist/<name>.js from src/<source>, served as `exports[subpath]`.
 * A new entry is one line here and its `exports` entry in package.json (checked below).
 */
const entries = [
  { name: 'index', source: 'src/index.ts', subpath: '.' },
  { name: 'react', source: 'src/react/index.ts', subpath: './react' },
  { name: 'sqlite', source: 'src/sqlite.ts', subpath: './sqlite' },
  { name: 'sw', source: 'src/sw/index.ts', subpath: './sw' },
];

for (const { name, subpath } of entries) {
  if (pkg.exports?.[subpath]?.default !== `./dist/${name}.js`) {
    throw new Error(`package.json exports["${subpath}"].default must be "./dist/${name}.js"`);
  }
}

// Workspace packages (the protocol) are bundled in; other dependencies stay imports.
const dependencies = [
  ...Object.keys(pkg.dependencies ?? {}),
  ...Object.keys(pkg.peerDependencies ?? {}),
].filter((name) => !name.startsWith('@syncline/'));

rmSync(dist, { recursive: true, force: true });

// 1. The package's JavaScript: one ESM file per entry point, shared code in chunks.
await esbuild.build({
  entryPoints: Object.fromEntries(entries.map((e) => [e.name, join(root, e.source)])),
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
emitDeclarations(entries.map((e) => join(root, e.source)));
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
const size = await bundleForBrowser(join(root, entries[0].source), browserFile);
const kib = (bytes) => `${(bytes / 1024).toFixed(1)} KiB`;
console.log(
  `@syncline/client browser bundle (${relative(root, browserFile)}): ` +
    `${kib(size.minified)} minified, ${kib(size.gzipped)} gzipped`,
);

/** Emits the declarations of `files` and what they import, with tsconfig.build.json's options. */
function emitDeclarations(files) {
  const configFile = join(root, 'tsconfig.build.json');
  const config = ts.getParsedCommandLineOfConfigFile(
    configFile,
    {},
    {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: (diagnostic) => {
        throw new Error(ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n'));
      },
    },
  );
  const program = ts.createProgram({ rootNames: files, options: config.options });
  const emitted = program.emit();
  const diagnostics = [...ts.getPreEmitDiagnostics(program), ...emitted.diagnostics];
  if (diagnostics.length > 0) {
    const host = {
      getCanonicalFileName: (name) => name,
      getCurrentDirectory: () => root,
      getNewLine: () => '\n',
    };
    throw new Error(ts.formatDiagnosticsWithColorAndContext(diagnostics, host));
  }
}

function* walk(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) yield* walk(path);
    else yield path;
  }
}
