// Serves the built web apps (the admin dashboard at /admin, the field app at /app) with @fastify/static: hashed assets
// cached for a year, index.html for every client-side route, strict security headers. The pages
// are public (they hold no data); everything they show comes from the API with the admin's token.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { SyncError } from '../engine/errors.js';

export interface WebApp {
  /** Where it is served, e.g. `/admin`. */
  prefix: string;
  /** The folder of its build (index.html and assets/). */
  root: string;
  /** How to build it, for the page shown while it is not built. */
  buildHint: string;
}

export interface WebAppsOptions {
  apps: readonly WebApp[];
}

/**
 * The apps load only their own scripts and styles and talk only to this server. Styles allow
 * inline attributes because the chart library positions its tooltips with them.
 */
const contentSecurityPolicy = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

async function securityHeaders(_request: FastifyRequest, reply: FastifyReply) {
  reply.header('content-security-policy', contentSecurityPolicy);
  reply.header('x-content-type-options', 'nosniff');
  reply.header('x-frame-options', 'DENY');
  // The sign-in link carries the token in the fragment; no page sends it on as a referrer.
  reply.header('referrer-policy', 'no-referrer');
}

/** A navigation (a page the client-side router draws), not a missing asset. */
const isNavigation = (request: FastifyRequest) =>
  (request.method === 'GET' || request.method === 'HEAD') &&
  !/\.[a-z0-9]+$/i.test(request.url.split('?')[0] ?? '');

async function serveApp(scope: FastifyInstance, app: WebApp) {
  // Every route here is a public page, and none belongs in the API document.
  scope.addHook('onRoute', (route) => {
    route.config = { ...route.config, auth: 'public' };
    route.schema = { ...route.schema, hide: true };
  });
  scope.addHook('onSend', async (request, reply, payload) => {
    await securityHeaders(request, reply);
    return payload;
  });

  if (!existsSync(join(app.root, 'index.html'))) {
    const page = notBuiltPage(app);
    const answer = async (_request: FastifyRequest, reply: FastifyReply) =>
      reply
        .code(503)
        .type('text/html; charset=utf-8')
        .header('cache-control', 'no-store')
        .send(page);
    scope.get('/', answer);
    scope.get('/*', answer);
    return;
  }

  await scope.register(fastifyStatic, {
    root: app.root,
    prefix: '/',
    index: false,
    cacheControl: false,
    serveDotFiles: false,
    setHeaders(res, path) {
      // Vite names every asset after its content: a new build is new URLs.
      const immutable = path.includes(`${join(app.root, 'assets')}`);
      res.setHeader(
        'cache-control',
        immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
      );
    },
  });
  const sendIndex = async (_request: FastifyRequest, reply: FastifyReply) =>
    reply.type('text/html; charset=utf-8').sendFile('index.html');
  scope.get('/', sendIndex);
  scope.setNotFoundHandler(async (request, reply) => {
    if (isNavigation(request)) return sendIndex(request, reply);
    throw new SyncError('NOT_FOUND', `${request.url} not found`);
  });
}

export const webAppsPlugin = fp<WebAppsOptions>(
  async (fastify, { apps }) => {
    for (const app of apps) {
      await fastify.register(async (scope) => serveApp(scope, app), { prefix: app.prefix });
    }
  },
  { name: 'syncline-web-apps', dependencies: ['syncline-auth'], fastify: '5.x' },
);

function notBuiltPage(app: WebApp): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Not built yet</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body style="font-family: system-ui, sans-serif; max-width: 36rem; margin: 4rem auto; padding: 0 1rem; line-height: 1.5">
<h1>This app is not built yet</h1>
<p>The server serves ${app.prefix} from a build that is missing. <code>npm start</code> builds it
before starting; to build it by hand, run <code>${app.buildHint}</code> and reload this page.</p>
</body></html>`;
}
