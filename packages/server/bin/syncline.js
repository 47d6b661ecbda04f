#!/usr/bin/env node
// The `syncline` command: runs the server's JavaScript build (dist/cli.js). In a checkout of the
// repository a missing or stale build is made first, as `npm start` does.
import { existsSync } from 'node:fs';

const buildScript = new URL('../../../scripts/build-if-stale.mjs', import.meta.url);
if (existsSync(buildScript)) {
  const { buildIfStale, buildTargets } = await import(buildScript.href);
  await buildIfStale(buildTargets.find((target) => target.name === 'server'));
}
// Stack traces name the TypeScript sources, as with `node --enable-source-maps`.
process.setSourceMapsEnabled(true);
const { main } = await import('../dist/cli.js');
const code = await main(process.argv.slice(2));
// `serve` resolves once listening and keeps running; other commands end here.
if (code !== 0) process.exit(code);
