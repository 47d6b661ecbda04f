// Every authenticated route of the canonical API with a valid example request, for the matrices
// that must hold on all of them (auth, tenancy, bad input).
export interface RouteCase {
  method: 'GET' | 'POST' | 'DELETE';
  url: string;
  body?: Record<string, unknown>;
  admin?: boolean;
}

const now = () => new Date().toISOString();

export const canonicalRoutes = (): RouteCase[] => [
  {
    method: 'POST',
    url: '/api/sync',
    body: {
      deviceId: 'dev-1',
      changes: [
        {
          entityType: 'asset',
          entityId: 'a-1',
          operation: 'CREATE',
          payload: { name: 'x' },
          clientVersion: 1,
          timestamp: now(),
        },
      ],
    },
  },
  { method: 'POST', url: '/api/sync/delta', body: { deviceId: 'dev-1', pageSize: 10 } },
  { method: 'POST', url: '/api/sync/snapshot', body: { deviceId: 'dev-1', pageSize: 10 } },
  { method: 'GET', url: '/api/sync/status' },
  { method: 'GET', url: '/api/sync/devices' },
  { method: 'POST', url: '/api/sync/devices', body: { deviceId: 'dev-1', deviceName: 'Tablet' } },
  { method: 'DELETE', url: '/api/sync/devices/dev-1' },
  { method: 'GET', url: '/api/sync/conflicts' },
  {
    method: 'POST',
    url: '/api/sync/conflicts/resolve',
    body: { conflictId: 'c-1', resolution: 'SERVER_WINS' },
  },
  { method: 'POST', url: '/api/sync/queue/retry', body: { deviceId: 'dev-1' } },
  { method: 'GET', url: '/api/sync/queue/stats' },
  { method: 'POST', url: '/api/sync/cache/invalidate', body: {}, admin: true },
  { method: 'GET', url: '/api/sync/entities/asset/a-1/history', admin: true },
  {
    method: 'POST',
    url: '/api/sync/entities/asset/a-1/restore',
    body: { version: 1 },
    admin: true,
  },
  // The admin dashboard's read routes.
  ...[
    'overview',
    'activity',
    'alerts',
    'audit',
    'devices',
    'devices/dev-1/history',
    'conflicts',
    'conflicts/c-1',
    'mutations',
    'entities',
    'collections',
  ].map((path): RouteCase => ({ method: 'GET', url: `/api/sync/admin/${path}`, admin: true })),
];
