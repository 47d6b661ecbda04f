// A seeded fuzz run against a real server process: data worth protecting in two tenants, then
// requests that must be refused (each with one defect) with the database dumped before and after,
// then a mix of well-formed and defective requests; every answer is checked.
import fc from 'fast-check';
import { prng } from '../../../packages/server/src/testing/prng.js';
import { callJson } from '../http.js';
import { mintHs256, type ServerProcess } from '../server-process.js';
import { describeDifference, type DataDump } from './data-dump.js';
import {
  bodyOf,
  defectNames,
  urlOf,
  wellFormed,
  withDefect,
  type FuzzRequest,
  type TokenPool,
} from './fuzz-requests.js';
import { loadRouteCatalog, type RouteSpec } from './route-catalog.js';
import type { Hints } from './schema-values.js';

export interface FuzzRunOptions {
  server: ServerProcess;
  seed: number;
  /** Requests that each carry a defect and must change nothing. */
  refused: number;
  /** Well-formed and defective requests mixed, after the refused ones. */
  mixed: number;
  dump: () => Promise<DataDump>;
  concurrency?: number;
  /** An answer slower than this is a hang. */
  timeoutMs?: number;
}

export interface Failure {
  phase: 'refused' | 'mixed';
  route: string;
  request: string;
  defect: string;
  outcome: string;
}

export interface FuzzReport {
  sent: number;
  byStatus: Record<string, number>;
  byRoute: Record<string, number>;
  failures: Failure[];
  dataChanged: string[];
  healthyAfter: boolean;
}

export const tenants = ['fuzz-a', 'fuzz-b'] as const;
const facilities = ['f1', 'f2'];

/** A fixture request; anything but a 2xx stops the run. */
async function call(
  server: ServerProcess,
  method: string,
  path: string,
  token: string,
  body?: unknown,
): Promise<Record<string, unknown>> {
  const answer = await callJson(server.url, method, path, token, body, {
    'x-device-id': 'dev-alice',
  });
  if (answer.status >= 300) {
    throw new Error(
      `fixture ${method} ${path} answered ${answer.status}: ${JSON.stringify(answer.body)}`,
    );
  }
  return answer.body ?? {};
}

/** Writes something of every kind into both tenants; returns the ids and names to aim at. */
async function seedFixtures(server: ServerProcess): Promise<Hints> {
  const ids: string[] = [];
  const syncTokens: string[] = [];
  const conflictIds: string[] = [];
  const now = () => new Date().toISOString();
  for (const tenant of tenants) {
    const alice = server.token('alice', tenant, 'user', { facilities });
    const bob = server.token('bob', tenant, 'user', { facilities });
    const admin = server.token('root', tenant, 'admin', { facilities });
    const created = await call(server, 'POST', '/api/sync', alice, {
      deviceId: 'dev-alice',
      changes: ['a-1', 'a-2', 'a-3'].map((id) => ({
        mutationId: `${tenant}-create-${id}`,
        entityType: 'asset',
        entityId: id,
        operation: 'CREATE',
        payload: { name: `Asset ${id}`, status: 'ok', reading: 1 },
        clientVersion: 1,
        timestamp: now(),
      })),
    });
    syncTokens.push(String(created.syncToken));
    await call(server, 'POST', '/api/sync', bob, {
      deviceId: 'dev-bob',
      changes: [
        {
          entityType: 'asset',
          entityId: 'a-1',
          operation: 'UPDATE',
          payload: { status: 'worn' },
          clientVersion: 1,
          timestamp: now(),
        },
      ],
    });
    const conflicted = await call(server, 'POST', '/api/sync', alice, {
      deviceId: 'dev-alice',
      changes: [
        {
          entityType: 'asset',
          entityId: 'a-1',
          operation: 'UPDATE',
          payload: { status: 'broken' },
          clientVersion: 1,
          timestamp: now(),
          conflictStrategy: 'MANUAL',
        },
      ],
    });
    for (const conflict of (conflicted.conflicts ?? []) as Array<{ id: string }>)
      conflictIds.push(conflict.id);
    await call(server, 'POST', '/api/sync/devices', alice, {
      deviceId: 'dev-spare',
      deviceName: 'Spare tablet',
      platform: 'web',
    });
    await call(server, 'POST', '/api/sync/devices', alice, {
      deviceId: 'dev-revoked',
      deviceName: 'Lost phone',
    });
    await call(server, 'DELETE', '/api/sync/devices/dev-revoked', alice);
    const queued = await call(server, 'POST', '/api/v1/sync/queue', alice, {
      userId: 'alice',
      deviceId: 'dev-alice',
      operation: 'CREATE',
      resourceType: 'encounter',
      data: { patientId: 'p-1', diagnosis: 'Common cold' },
      createdAtClient: now(),
    });
    ids.push(String(queued.id));
    await call(server, 'POST', `/api/v1/sync/process/${String(queued.id)}`, alice);
    const pending = await call(server, 'POST', '/api/v1/sync/queue', alice, {
      userId: 'alice',
      deviceId: 'dev-alice',
      operation: 'CREATE',
      resourceType: 'patient',
      data: { name: 'Amina' },
      createdAtClient: now(),
    });
    ids.push(String(pending.id));
    await call(server, 'PATCH', '/api/offline/config', admin, {
      upstream_base_url: 'http://127.0.0.1:9',
      max_retry_attempts: 2,
    });
    const op = await call(server, 'POST', '/api/offline/queue', alice, {
      operation_type: 'sale',
      operation_id: `${tenant}-sale-1`,
      endpoint: '/api/sales',
      method: 'POST',
      request_body: { total: 250, currency: 'KES' },
    });
    ids.push(String(op.queueId), `${tenant}-sale-1`);
    await call(server, 'POST', '/api/attendance/sync', alice, {
      records: [
        {
          facilityId: 'f1',
          clockIn: now(),
          clockInLatitude: -1.95,
          clockInLongitude: 30.06,
          deviceId: 'dev-alice',
          clientTimestamp: now(),
          syncVersion: 1,
        },
      ],
    });
  }
  return {
    deviceId: ['dev-alice', 'dev-bob', 'dev-spare', 'dev-revoked'],
    entityId: ['a-1', 'a-2', 'a-3'],
    id: ['a-1', 'a-2', ...ids, ...conflictIds],
    conflictId: conflictIds,
    type: ['asset', 'task', 'attendance', 'encounter'],
    entityType: ['asset', 'task', 'attendance', 'encounter', 'patient', 'supplier'],
    entityTypes: [['asset'], ['asset', 'task']],
    userId: ['alice', 'bob', 'root'],
    businessId: [...tenants],
    syncToken: syncTokens,
    version: [1, 2, 3],
    facilityId: facilities,
    upstream_base_url: ['http://127.0.0.1:9'],
    operation_id: ids,
  };
}

function tokenPool(server: ServerProcess): TokenPool {
  const now = Math.floor(Date.now() / 1000);
  const valid = tenants.flatMap((tenant) =>
    ['alice', 'bob'].map((sub) => server.token(sub, tenant, 'user', { facilities })),
  );
  const admins = tenants.map((tenant) => server.token('root', tenant, 'admin', { facilities }));
  const header = Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url');
  const claims = Buffer.from(
    JSON.stringify({ sub: 'alice', tenant: 'fuzz-a', exp: now + 3600 }),
  ).toString('base64url');
  return {
    valid,
    admins,
    expired: mintHs256(server.secret, {
      sub: 'alice',
      tenant: 'fuzz-a',
      iat: now - 7200,
      exp: now - 3600,
    }),
    badSignature: mintHs256('not-the-server-secret', {
      sub: 'alice',
      tenant: 'fuzz-a',
      exp: now + 3600,
    }),
    unsigned: `${header}.${claims}.`,
    noTenant: mintHs256(server.secret, { sub: 'alice', exp: now + 3600 }),
  };
}

interface Answer {
  status: number;
  text: string;
  error?: string;
}

async function send(baseUrl: string, request: FuzzRequest, timeoutMs: number): Promise<Answer> {
  const body = bodyOf(request);
  try {
    const res = await fetch(urlOf(baseUrl, request), {
      method: request.method,
      headers: request.headers,
      ...(body !== undefined ? { body } : {}),
      signal: AbortSignal.timeout(timeoutMs),
    });
    // A stream that opened is not read to its end: its headers are the answer.
    if ((res.headers.get('content-type') ?? '').includes('text/event-stream')) {
      await res.body?.cancel();
      return { status: res.status, text: '' };
    }
    return { status: res.status, text: await res.text() };
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause?.code;
    return {
      status: 0,
      text: '',
      error: `${(error as Error).name}: ${(error as Error).message}${cause ? ` (${cause})` : ''}`,
    };
  }
}

function isStructuredError(text: string): boolean {
  try {
    const body = JSON.parse(text) as { error?: { code?: unknown; message?: unknown } };
    return typeof body.error?.code === 'string' && typeof body.error.message === 'string';
  } catch {
    return false;
  }
}

const describeRequest = (request: FuzzRequest) => {
  const body = bodyOf(request);
  const shown =
    typeof body === 'string' ? body.slice(0, 300) : body ? `<${body.length} bytes>` : '';
  return `${request.method} ${urlOf('', request).slice(0, 300)} ${JSON.stringify(request.headers).slice(0, 200)} ${shown}`;
};

/** Runs `requests` with a fixed number in flight; `check` names what is wrong with an answer. */
async function sendAll(
  baseUrl: string,
  requests: FuzzRequest[],
  options: { concurrency: number; timeoutMs: number },
  onAnswer: (request: FuzzRequest, answer: Answer) => void,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < requests.length) {
      const request = requests[next++]!;
      onAnswer(request, await send(baseUrl, request, options.timeoutMs));
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, worker));
}

/** `count` requests spread evenly over `routes`, each well-formed or with a defect as `defective` says. */
function generate(
  routes: RouteSpec[],
  hints: Hints,
  tokens: TokenPool,
  seed: number,
  count: number,
  defective: (random: () => number) => boolean,
): FuzzRequest[] {
  const random = prng(seed);
  const perRoute = Math.ceil(count / routes.length);
  const requests: FuzzRequest[] = [];
  routes.forEach((route, index) => {
    const bases = fc.sample(wellFormed(route, hints, tokens), {
      seed: seed + index,
      numRuns: perRoute,
    });
    for (const base of bases) {
      if (!defective(random)) {
        requests.push(base);
        continue;
      }
      const name = defectNames[Math.floor(random() * defectNames.length)]!;
      const request = withDefect(base, tokens, name, Math.floor(random() * 2 ** 31));
      if (request) requests.push(request);
    }
  });
  // Interleave the routes, as clients would.
  for (let i = requests.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [requests[i], requests[j]] = [requests[j]!, requests[i]!];
  }
  return requests.slice(0, count);
}

export async function runFuzz(options: FuzzRunOptions): Promise<FuzzReport> {
  const { server, seed } = options;
  const settings = {
    concurrency: options.concurrency ?? 8,
    timeoutMs: options.timeoutMs ?? 20_000,
  };
  const hints = await seedFixtures(server);
  const tokens = tokenPool(server);
  const routes = await loadRouteCatalog(server.url);
  const report: FuzzReport = {
    sent: 0,
    byStatus: {},
    byRoute: {},
    failures: [],
    dataChanged: [],
    healthyAfter: false,
  };
  const count = (request: FuzzRequest, answer: Answer) => {
    report.sent++;
    const status = answer.error ? 'network error' : String(answer.status);
    report.byStatus[status] = (report.byStatus[status] ?? 0) + 1;
    const route = `${request.route.method} ${request.route.path}`;
    report.byRoute[route] = (report.byRoute[route] ?? 0) + 1;
  };

  // Phase 1: every request carries a defect; each must be a structured 4xx and change nothing.
  const refused = generate(routes, hints, tokens, seed, options.refused, () => true);
  const before = await options.dump();
  await sendAll(server.url, refused, settings, (request, answer) => {
    count(request, answer);
    const wrong = answer.error
      ? answer.error
      : answer.status < 400 || answer.status >= 500
        ? `answered ${answer.status}: ${answer.text.slice(0, 300)}`
        : !isStructuredError(answer.text)
          ? `answered ${answer.status} without a structured error: ${answer.text.slice(0, 200)}`
          : undefined;
    if (wrong)
      report.failures.push({
        phase: 'refused',
        route: `${request.method} ${request.route.path}`,
        request: describeRequest(request),
        defect: request.defect,
        outcome: wrong,
      });
  });
  report.dataChanged = describeDifference(before, await options.dump());

  // Phase 2: well-formed requests (which may change data) mixed with defective ones: never a 5xx.
  const mixed = generate(
    routes,
    hints,
    tokens,
    seed + 1_000_003,
    options.mixed,
    (random) => random() < 0.4,
  );
  await sendAll(server.url, mixed, settings, (request, answer) => {
    count(request, answer);
    const wrong = answer.error
      ? answer.error
      : answer.status >= 500
        ? `answered ${answer.status}: ${answer.text.slice(0, 300)}`
        : undefined;
    if (wrong)
      report.failures.push({
        phase: 'mixed',
        route: `${request.method} ${request.route.path}`,
        request: describeRequest(request),
        defect: request.defect,
        outcome: wrong,
      });
  });

  const health = await fetch(`${server.url}/healthz`).catch(() => undefined);
  report.healthyAfter = health?.status === 200;
  return report;
}
