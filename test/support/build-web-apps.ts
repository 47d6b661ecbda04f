// Global setup of the browser tests: the server and the web apps are built (when stale) before any
// test runs, by the same script `npm start` runs, so that browser tests always see the current
// sources.
import { buildIfStale } from './build-if-stale.js';

export default function buildWebApps(): void {
  buildIfStale();
}
