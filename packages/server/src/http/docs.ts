// The OpenAPI document (/docs/json) generated from the routes' TypeBox schemas, and the Swagger UI
// page at /docs. Registered before the routes, so that @fastify/swagger sees each one.
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import fp from 'fastify-plugin';
import { PROTOCOL_VERSION } from '@syncline/protocol';

export const docsPrefix = '/docs';

export const docsPlugin = fp(
  async (fastify) => {
    await fastify.register(swagger, {
      openapi: {
        openapi: '3.1.0',
        info: {
          title: 'Syncline sync API',
          description:
            'Offline-first sync: push a batch and pull in one round trip, page the change feed, manage devices and conflicts. ' +
            'Refusals are `{ error: { code, message, details? } }`.',
          version: `protocol ${PROTOCOL_VERSION}`,
        },
        components: {
          securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
        },
        security: [{ bearerAuth: [] }],
        tags: [
          { name: 'sync', description: 'Canonical sync protocol (seed 002)' },
          { name: 'admin', description: 'Tenant admins only' },
          { name: 'health', description: 'Liveness and readiness' },
        ],
      },
    });
    // Encapsulated so that only the UI's own routes (page, assets, /docs/json) are made public.
    await fastify.register(async (ui) => {
      ui.addHook('onRoute', (route) => {
        route.config = { ...route.config, auth: 'public' };
      });
      await ui.register(swaggerUi, { routePrefix: docsPrefix });
    });
  },
  { name: 'syncline-docs', fastify: '5.x' },
);
