// A Node process that uses the SDK on a SQLite file, driven line by line over stdin by the
// two-process test: each line is a JSON command, each answer one JSON line on stdout. Its network
// can be switched off (requests fail at once) or made to hang (requests never answer), and it
// reports the mutation ids it pushed. Arguments: database path, server URL, token, lease ms.
import { createInterface } from 'node:readline';
import type { PushRequest } from '@syncline/protocol';
import { createSyncClient } from '../../packages/client/src/index.js';
import { sqliteStorage } from '../../packages/client/src/sqlite.js';
import { requestJson } from './sdk-fetch.js';

const [path, url, token, leaseMs] = process.argv.slice(2);
if (!path || !url || !token) throw new Error('usage: path url token [leaseMs]');

let network: 'online' | 'offline' | 'hang' = 'online';
const pushed: string[] = [];
const fetchThrough = async (input: string, init?: RequestInit): Promise<Response> => {
  if (network === 'offline') throw new TypeError('fetch failed (offline)');
  if (network === 'hang') return new Promise(() => undefined);
  if (new URL(input).pathname === '/api/sync' && init?.body !== undefined) {
    const request = requestJson(init) as PushRequest;
    pushed.push(...request.changes.map((change) => change.mutationId ?? ''));
  }
  return fetch(input, init);
};

const client = createSyncClient({
  url,
  getToken: () => token,
  storage: sqliteStorage(path, {
    watchIntervalMs: 50,
    ...(leaseMs ? { leaseMs: Number(leaseMs) } : {}),
  }),
  fetch: fetchThrough,
  realtime: false,
});
const notes = client.collection<{ text: string; by: string; seen?: string }>('note');

type Command =
  | { cmd: 'network'; value: typeof network }
  | { cmd: 'create'; text: string; by: string }
  | { cmd: 'createMany'; texts: string[]; by: string }
  | { cmd: 'update'; id: string; patch: Record<string, string> }
  | { cmd: 'remove'; id: string }
  | { cmd: 'find' }
  | { cmd: 'status' }
  | { cmd: 'deviceId' }
  | { cmd: 'sync' }
  | { cmd: 'pushed' };

async function run(command: Command): Promise<unknown> {
  switch (command.cmd) {
    case 'network':
      network = command.value;
      return network;
    case 'create':
      return notes.create({ text: command.text, by: command.by });
    case 'createMany':
      return Promise.all(command.texts.map((text) => notes.create({ text, by: command.by })));
    case 'update':
      return notes.update(command.id, command.patch);
    case 'remove':
      return notes.delete(command.id);
    case 'find':
      return notes.find();
    case 'status':
      return client.status;
    case 'deviceId':
      return client.deviceId();
    case 'sync':
      return client.syncNow();
    case 'pushed':
      return pushed;
  }
}

// Commands run as they arrive, so that a test can have several in flight; each answer carries
// the `ref` of its command.
createInterface({ input: process.stdin }).on('line', (line) => {
  const { ref, ...command } = JSON.parse(line) as Command & { ref: number };
  const answer = (body: object) => process.stdout.write(`${JSON.stringify({ ref, ...body })}\n`);
  run(command as Command).then(
    (value) => answer({ value: value ?? null }),
    (error: unknown) => answer({ error: String(error) }),
  );
});
process.stdin.on('end', () => {
  client.close().then(() => process.exit(0));
});
