#!/usr/bin/env node
// The `syncline` command: runs the TypeScript CLI through tsx (the project has no build step).
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli.ts');
const code = await main(process.argv.slice(2));
// `serve` resolves once listening and keeps running; other commands end here.
if (code !== 0) process.exit(code);
