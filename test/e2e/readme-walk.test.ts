// The README walked top to bottom as a new user would: every ```sh block runs as written, in order,
// in one shell, from the repository root, against the server that `npm start` serves on port 3000.
//
// What the walk has to stand in for:
// - The opening block (`npm ci`, `npm start`, `npm test`): the checkout is installed already and
//   `npm test` is what runs this test, so the walk only starts the server.
// - "The server's terminal": a block whose one command ends in `npm start` stops the running server
//   (as Ctrl-C would) and starts it again that way, in the background.
// - curl answers with an HTTP error fail the walk (curl runs with --fail-with-body).
// - Long runs are scaled down through the environment, never by editing a command:
//   SYNCLINE_BENCH_CHANGES, _ROUNDS, _CONCURRENT_*, _RSS_CHANGES, _BIG_TENANT, _FIRST_SYNC,
//   _FIELD_DAY, _QUERY_ROWS and SYNCLINE_LOAD_* make the benchmark blocks short.
// The data directory is a temporary one (SYNCLINE_DATA_DIR), so the walk leaves the checkout as it was.
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const setupBlock = ['npm ci', 'npm start', 'npm test'];

interface Block {
  line: number;
  text: string;
}

/** The ```sh (or ````sh) blocks of a Markdown text, with the line each starts on. */
export function shellBlocks(markdown: string): Block[] {
  const blocks: Block[] = [];
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const open = /^(`{3,})sh\s*$/.exec(lines[i]!);
    if (!open) continue;
    const fence = open[1]!;
    const body: string[] = [];
    let j = i + 1;
    while (j < lines.length && lines[j]!.trim() !== fence) body.push(lines[j++]!);
    if (j >= lines.length)
      throw new Error(`README line ${i + 1}: the ${fence}sh block never closes`);
    blocks.push({ line: i + 1, text: body.join('\n') });
    i = j;
  }
  return blocks;
}

const commandsOf = (text: string) =>
  text
    .split('\n')
    .map((line) => line.replace(/#.*$/, '').trim())
    .filter((line) => line.length > 0);

const isServerBlock = (text: string) => {
  const commands = commandsOf(text);
  return commands.length === 1 && /(^|\s)npm start$/.test(commands[0]!);
};

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
  });
}

const prelude = String.raw`
set -euo pipefail
curl() { command curl --fail-with-body --silent --show-error --max-time 60 "$@"; }
SERVER_PID=
stop_server() {
  if [ -n "$SERVER_PID" ]; then
    kill -INT -- "-$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
    SERVER_PID=
  fi
}
start_server() {
  stop_server
  setsid bash -c "$1" >>"$WALK_DIR/server.log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 1 300); do
    if command curl -sf localhost:3000/healthz >/dev/null 2>&1; then return 0; fi
    kill -0 "$SERVER_PID" 2>/dev/null || { echo "the server exited:"; tail -n 40 "$WALK_DIR/server.log"; return 1; }
    sleep 0.1
  done
  echo "the server did not answer /healthz in 30 s"; tail -n 40 "$WALK_DIR/server.log"; return 1
}
trap 'stop_server; jobs -p | xargs -r kill 2>/dev/null || true' EXIT
`;

/** The walk as one bash script: each block announced, then run as written. */
export function walkScript(blocks: Block[]): string {
  const parts = [prelude];
  blocks.forEach((block, index) => {
    parts.push(`echo; echo "=== README block ${index + 1} (line ${block.line})"`);
    if (index === 0) {
      const commands = commandsOf(block.text);
      if (JSON.stringify(commands) !== JSON.stringify(setupBlock)) {
        throw new Error(
          `README line ${block.line}: the first block must be ${setupBlock.join(' / ')}`,
        );
      }
      parts.push(`start_server 'npm start'`);
    } else if (isServerBlock(block.text)) {
      parts.push(`start_server ${JSON.stringify(commandsOf(block.text)[0])}`);
    } else {
      parts.push(block.text);
    }
  });
  parts.push('echo; echo "=== the README walk finished"');
  return parts.join('\n');
}

let walkDir: string;
beforeAll(async () => {
  walkDir = await mkdtemp(join(tmpdir(), 'syncline-readme-'));
});
afterAll(async () => {
  await rm(walkDir, { recursive: true, force: true });
});

it('runs every shell block of the README as written, in order', async () => {
  expect(await portIsFree(3000), 'the README walk serves on port 3000, which is taken').toBe(true);
  const readme = await readFile(join(repoRoot, 'README.md'), 'utf8');
  const blocks = shellBlocks(readme);
  const script = join(walkDir, 'walk.sh');
  await writeFile(script, walkScript(blocks));
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    WALK_DIR: walkDir,
    SYNCLINE_DATA_DIR: join(walkDir, 'data'),
    SYNCLINE_LOG_LEVEL: 'warn',
    SYNCLINE_BENCH_CHANGES: '300',
    SYNCLINE_BENCH_ROUNDS: '1',
    SYNCLINE_BENCH_CONCURRENT_DEVICES: '5',
    SYNCLINE_BENCH_CONCURRENT_PUSHES: '20',
    SYNCLINE_BENCH_RSS_CHANGES: '1000',
    SYNCLINE_BENCH_BIG_TENANT: '2000',
    SYNCLINE_BENCH_FIRST_SYNC: '2000',
    SYNCLINE_BENCH_FIELD_DAY: '10',
    SYNCLINE_BENCH_QUERY_ROWS: '500',
    SYNCLINE_LOAD_SECONDS: '3',
    SYNCLINE_LOAD_DEVICES: '8',
  };
  // The walk is a new user's shell: nothing of the test run's own configuration.
  for (const name of Object.keys(env)) {
    if (
      /^SYNCLINE_(TEST|DB|REDIS|CONFIG|JWT|UPSTREAM)/.test(name) ||
      name === 'PORT' ||
      name === 'HOST'
    )
      delete env[name];
  }
  const { code, output } = await new Promise<{ code: number | null; output: string }>((resolve) => {
    const child = spawn('bash', [script], {
      cwd: repoRoot,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.once('exit', (exitCode) => resolve({ code: exitCode, output }));
  });
  const serverLog = await readFile(join(walkDir, 'server.log'), 'utf8').catch(() => '');
  expect(code, `${output.slice(-12_000)}\n--- server log ---\n${serverLog.slice(-4000)}`).toBe(0);
  expect(output).toContain('=== the README walk finished');
}, 300_000);
