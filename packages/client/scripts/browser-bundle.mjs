// Bundles an entry point for browsers with esbuild: every dependency inlined, minified, and no
// Node built-in anywhere in the import graph (one is a build error naming the importer).
import { readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { relative } from 'node:path';
import { gzipSync } from 'node:zlib';
import * as esbuild from 'esbuild';

const builtins = new Set(builtinModules.filter((name) => !name.startsWith('_')));

export function isNodeBuiltin(specifier) {
  return specifier.startsWith('node:') || builtins.has(specifier.split('/')[0]);
}

const noNodeBuiltins = {
  name: 'no-node-builtins',
  setup(build) {
    build.onResolve({ filter: /.*/ }, (args) =>
      isNodeBuiltin(args.path)
        ? {
            errors: [
              {
                text: `the browser bundle may not import the Node built-in "${args.path}" (imported by ${relative(process.cwd(), args.importer)})`,
              },
            ],
          }
        : undefined,
    );
  },
};

/** Writes the browser bundle of `entry` to `outfile`; returns its minified and gzipped sizes. */
export async function bundleForBrowser(entry, outfile) {
  await esbuild.build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    minify: true,
    plugins: [noNodeBuiltins],
    logLevel: 'silent',
  });
  const bytes = readFileSync(outfile);
  return { minified: bytes.length, gzipped: gzipSync(bytes, { level: 9 }).length };
}
