// A Node process that uses the SDK on a SQLite file, for the crash test. `write` creates one
// entity, says so on stdout and then waits to be killed; `sync` reopens the file, reports what is
// pending, syncs and reports again. Arguments: mode, database path, server URL, token.
import { createSyncClient } from '../../packages/client/src/index.js';
import { sqliteStorage } from '../../packages/client/src/sqlite.js';

const [mode, path, url, token] = process.argv.slice(2);
if (!mode || !path || !url || !token) throw new Error('usage: mode path url token');

const client = createSyncClient({
  url,
  getToken: () => token,
  storage: sqliteStorage(path),
  realtime: false,
});
const assets = client.collection<{ name: string }>('asset');
const say = (line: object) => process.stdout.write(`${JSON.stringify(line)}\n`);

if (mode === 'write') {
  const id = await assets.create({ name: 'Generator' });
  say({ created: id, deviceId: await client.deviceId() });
  // Stay alive until the test kills the process.
  setInterval(() => undefined, 60_000);
} else {
  await client.ready();
  const before = {
    ...client.status,
    items: await assets.find(),
    deviceId: await client.deviceId(),
  };
  const summary = await client.syncNow();
  say({ before, summary, after: client.status });
  await client.close();
}
