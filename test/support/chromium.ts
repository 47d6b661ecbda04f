// Debian's Chromium driven by playwright-core, for *.browser.test.ts. Never a downloaded browser.
// In CI (CI=true) a missing /usr/bin/chromium is an error; elsewhere the browser tests skip, and
// say why.
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';
import * as esbuild from 'esbuild';

export const chromiumPath = '/usr/bin/chromium';
export const hasChromium = existsSync(chromiumPath);

if (!hasChromium && process.env.CI) {
  throw new Error(`${chromiumPath} is missing: CI installs Debian's chromium (see .ci/run)`);
}

export const noChromiumReason = `skipped: ${chromiumPath} is missing (apt-get install chromium)`;

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
}

/** Bundles a test page's entry module (and the SDK sources it imports) for the browser. */
export async function bundlePage(entry: string): Promise<string> {
  const built = await esbuild.build({
    entryPoints: [entry],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    write: false,
    sourcemap: 'inline',
    logLevel: 'silent',
  });
  const [output] = built.outputFiles;
  if (!output) throw new Error(`esbuild wrote nothing for ${entry}`);
  return output.text;
}

/** The HTML page that loads a bundle as a module and says when it is ready. */
export const pageHtml = (script: string) =>
  `<!doctype html><html><head><meta charset="utf-8"><title>Syncline test page</title></head>` +
  `<body><script type="module" src="${script}"></script></body></html>`;
