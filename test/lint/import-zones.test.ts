// The server's folder directions are enforced by eslint.config.js: each case lints a probe file,
// placed (virtually) in a folder, with ESLint's own Node API and the repository's config, so that
// dropping or loosening a zone fails here and not only in review.
import { fileURLToPath } from 'node:url';
import { ESLint } from 'eslint';
import { beforeAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
let eslint: ESLint;

beforeAll(() => {
  eslint = new ESLint({ cwd: root });
});

/** The messages of import-x rules for `code` as if it were the file at `path` (from the root). */
async function importErrors(path: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: `${root}${path}` });
  return (result?.messages ?? [])
    .filter((m) => m.ruleId?.startsWith('import-x/'))
    .map((m) => `${m.ruleId}: ${m.message}`);
}

const src = 'packages/server/src';

describe('server folder directions', () => {
  it.each([
    ['store', `import { nodeCrypto } from '../http/node-crypto.js';`, 'replay ports'],
    ['store', `import { createRealtime } from '../realtime/realtime.js';`, 'replay ports'],
    ['replay', `import { openStore } from '../store/index.js';`, 'knows no store'],
    ['replay', `import { actorOf } from '../http/auth.js';`, 'knows no store'],
    ['replay', `import { systemTenant } from '../jobs/job-registry.js';`, 'knows no store'],
    ['engine', `import { portOf } from '../replay/upstream-address.js';`, 'its own ports only'],
    ['realtime', `import { actorOf } from '../http/auth.js';`, 'routes live in http/'],
    ['jobs', `import { parseRateLimit } from '../http/rate-limits.js';`, 'nothing of HTTP'],
    ['jobs', `import { createRealtime } from '../realtime/realtime.js';`, 'nothing of HTTP'],
    ['http', `import { composeServices } from '../app/compose.js';`, 'builds none'],
    ['engine', `import { openStore } from '../store/index.js';`, 'its own ports only'],
    ['config', `import { SyncError } from '../engine/errors.js';`, 'nothing else'],
    ['config', `import { compileAllowList } from '../replay/upstream-address.js';`, 'nothing else'],
    ['http', `import { createTestApp } from '../testing/test-app.js';`, 'builds none'],
    ['http', `import { seedRoutes } from '../seeds/index.js';`, 'builds none'],
    ['http', `import { createRequestReplayer } from '../replay/replayer.js';`, 'builds none'],
    ['engine', `import { presetCollections } from '../seeds/presets.js';`, 'its own ports only'],
    ['replay', `import { seedRoutes } from '../seeds/index.js';`, 'knows no store'],
    ['store', `import { presetCollections } from '../seeds/presets.js';`, 'replay ports'],
    ['jobs', `import { presetCollections } from '../seeds/presets.js';`, 'nothing of HTTP'],
    ['realtime', `import { presetCollections } from '../seeds/presets.js';`, 'routes live in'],
    ['seeds', `import { openStore } from '../store/index.js';`, 'only app/ uses it'],
    ['seeds', `import { createBackgroundJobs } from '../jobs/index.js';`, 'only app/ uses it'],
    ['seeds', `import { createRealtime } from '../realtime/realtime.js';`, 'only app/ uses it'],
    ['seeds', `import { composeServices } from '../app/compose.js';`, 'only app/ uses it'],
  ])('%s refuses %s', async (folder, code, why) => {
    const errors = await importErrors(`${src}/${folder}/zone-probe.ts`, `${code}\nvoid 0;\n`);
    expect(errors).toEqual([expect.stringContaining(why)]);
    expect(errors[0]).toMatch(/^import-x\/no-restricted-paths: /);
  });

  it.each([
    ['store', `import { SyncError } from '../engine/errors.js';`],
    ['store', `import type { HostResolver } from '../replay/ports.js';`],
    ['replay', `import { SyncError } from '../engine/errors.js';`],
    ['jobs', `import { replayDueOperations } from '../replay/replayer.js';`],
    ['jobs', `import { parseDuration } from '../config/durations.js';`],
    ['jobs', `import { EnvError } from '../config/env.js';`],
    ['realtime', `import { streamCapsDefaults } from '../config/limits.js';`],
    ['http', `import { createRealtime } from '../realtime/realtime.js';`],
    ['http', `import { createTenantSettingsService } from '../jobs/tenant-settings.js';`],
    ['app', `import { buildServer } from '../http/build-server.js';`],
    ['app', `import { seedRoutes } from '../seeds/index.js';`],
    ['seeds', `import { actorOf } from '../http/auth.js';`],
    ['seeds', `import { replayActor } from '../replay/operations.js';`],
    ['seeds', `import { SyncError } from '../engine/errors.js';`],
  ])('%s may use %s', async (folder, code) => {
    expect(await importErrors(`${src}/${folder}/zone-probe.ts`, `${code}\nvoid 0;\n`)).toEqual([]);
  });

  it('tests beside the code may import across folders', async () => {
    const code = `import { createTestApp } from '../testing/test-app.js';\nvoid createTestApp;\n`;
    expect(await importErrors(`${src}/http/zone-probe.test.ts`, code)).toEqual([]);
  });

  it('refuses an import that closes a cycle inside a folder', async () => {
    // sync-engine.ts imports errors.ts: errors.ts importing sync-engine.ts back closes a loop.
    const code = `import { createSyncEngine } from './sync-engine.js';\nexport { createSyncEngine };\n`;
    const errors = await importErrors(`${src}/engine/errors.ts`, code);
    expect(errors).toEqual([expect.stringMatching(/^import-x\/no-cycle: /)]);
  });
});
