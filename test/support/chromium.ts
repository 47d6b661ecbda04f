// Debian's Chromium driven by playwright-core, for *.browser.test.ts. Never a downloaded browser.
// In CI (CI=true) a missing /usr/bin/chromium is an error; elsewhere the browser tests skip, and
// say why. Also the parts every SDK browser test shares: a test page bundled from its entry
// module, opened in a tab, and driven through the API object it puts on `window`.
import { existsSync } from 'node:fs';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
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

/**
 * Bundles a test page's entry module (and the SDK sources it imports) for the browser: an ES
 * module, or a classic script (`iife`), as a service worker registered without `type: 'module'`.
 */
export async function bundlePage(
  entry: string,
  { format = 'esm' }: { format?: 'esm' | 'iife' } = {},
): Promise<string> {
  const built = await esbuild.build({
    entryPoints: [entry],
    bundle: true,
    format,
    platform: 'browser',
    // Libraries such as Workbox leave their development checks out of production builds.
    define: { 'process.env.NODE_ENV': '"production"' },
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

/** The files a test serves for a page: the HTML at '/' and the entry's bundle at `script`. */
export async function pageFiles(
  entry: string,
  script = '/page.js',
): Promise<Record<string, { type: string; body: string }>> {
  return {
    '/': { type: 'text/html', body: pageHtml(script) },
    [script]: { type: 'text/javascript', body: await bundlePage(entry) },
  };
}

type PageMethod = (...args: never[]) => unknown;

/**
 * A typed caller of the API a test page puts on `window[global]`:
 * `const call = pageApi<TabApi>('tab'); await call(page, 'create', 'text')`.
 */
export function pageApi<Api extends { [K in keyof Api]: PageMethod }>(global: string) {
  return <K extends keyof Api & string>(
    page: Page,
    method: K,
    ...args: Parameters<Api[K]>
  ): Promise<Awaited<ReturnType<Api[K]>>> =>
    page.evaluate(
      ([name, key, values]) =>
        (window as unknown as Record<string, Record<string, (...a: unknown[]) => unknown>>)[name]![
          key
        ]!(...values),
      [global, method, args as unknown[]] as const,
    ) as Promise<Awaited<ReturnType<Api[K]>>>;
}

/**
 * A new tab of `context` at `url`, once its page has put `window[global]` in place. Uncaught
 * errors of the page go to `errors` when given, for the test to check.
 */
export async function openTestPage(
  context: BrowserContext,
  url: string,
  global: string,
  errors?: string[],
): Promise<Page> {
  const page = await context.newPage();
  if (errors) page.on('pageerror', (error) => errors.push(error.message));
  await page.goto(url);
  await page.waitForFunction((name) => name in window, global);
  return page;
}
