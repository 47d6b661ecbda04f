// Global setup of the browser tests: the web apps are built (when stale) before any test runs,
// by the same script `npm start` runs, so that browser tests always see the current sources.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export default function buildWebApps(): void {
  const script = fileURLToPath(new URL('../../scripts/build-if-stale.mjs', import.meta.url));
  const result = spawnSync(process.execPath, [script], { stdio: 'inherit' });
  if (result.status !== 0) throw new Error(`building the web apps failed (${result.status})`);
}
