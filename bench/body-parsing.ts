// `npm run bench`, body parsing: what the server's checks on a 10 MiB JSON body cost beside
// JSON.parse alone. Two shapes: a push batch of many small fields, and one of a few long strings.
// The third row is the pair of walks the parser made before its checks were folded into one.
import { performance } from 'node:perf_hooks';
import { exceedsDepth, findForbiddenKey } from '@syncline/protocol';
import { parseJsonBody } from '../packages/server/src/http/body-parsing.js';

export interface ParseFigure {
  shape: string;
  megabytes: number;
  /** Median milliseconds per body, over the runs. */
  jsonParseMs: number;
  parseJsonBodyMs: number;
  twoWalksMs: number;
}

const runs = 9;
const target = 10 * 1024 * 1024 - 64 * 1024;

function fill(make: (i: number) => unknown): string {
  const changes: unknown[] = [];
  let size = 0;
  while (size < target) {
    const change = make(changes.length);
    size += JSON.stringify(change).length + 1;
    changes.push(change);
  }
  return JSON.stringify({ deviceId: 'bench', changes });
}

const shapes: Record<string, () => string> = {
  'many small fields': () =>
    fill((i) => ({
      mutationId: `m-${i}`,
      entityType: 'attendance',
      entityId: `att-${i}`,
      operation: 'CREATE',
      clientVersion: 1,
      timestamp: '2024-05-01T08:00:00.000Z',
      payload: {
        facilityId: `f-${i % 7}`,
        clockIn: '2024-05-01T08:00:00.000Z',
        clockInLatitude: -1.2921 + i / 1e6,
        clockInLongitude: 36.8219,
        tags: ['a', 'b', 'c'],
        notes: { text: 'on time', count: i },
      },
    })),
  'a few long strings': () =>
    fill((i) => ({
      entityType: 'record',
      entityId: `r-${i}`,
      operation: 'CREATE',
      clientVersion: 1,
      timestamp: '2024-05-01T08:00:00.000Z',
      payload: { text: 'x'.repeat(200_000) },
    })),
};

function median(run: () => void): number {
  const times: number[] = [];
  run(); // warm-up
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    run();
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  return Math.round((times[Math.floor(runs / 2)] as number) * 10) / 10;
}

export function benchBodyParsing(): ParseFigure[] {
  return Object.entries(shapes).map(([shape, make]) => {
    const text = make();
    return {
      shape,
      megabytes: Math.round((text.length / 1024 / 1024) * 10) / 10,
      jsonParseMs: median(() => JSON.parse(text)),
      parseJsonBodyMs: median(() => parseJsonBody(text)),
      twoWalksMs: median(() => {
        const parsed: unknown = JSON.parse(text);
        exceedsDepth(parsed, 40);
        findForbiddenKey(parsed);
      }),
    };
  });
}

export function printBodyParsing(figures: ParseFigure[]): void {
  console.log('\nbody parsing (median ms per body)');
  console.log('shape                MB    JSON.parse  parseJsonBody  parse + two walks (before)');
  for (const f of figures) {
    console.log(
      `${f.shape.padEnd(20)} ${String(f.megabytes).padStart(4)}  ${String(f.jsonParseMs).padStart(10)}  ${String(f.parseJsonBodyMs).padStart(13)}  ${String(f.twoWalksMs).padStart(10)}`,
    );
  }
}
