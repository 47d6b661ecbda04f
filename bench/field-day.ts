// The full field day through the throttling proxy (50 kbit/s each way, 1 s round trip, random
// drops): 500 attendance records and 200 asset edits made offline, then synced. Prints the wire
// bytes per change against the app's payload bytes, with gzip (bodies and answers) and without,
// on the same drop seed, and how long the sync took. Goal: ≤ 1.3× with gzip.
import { randomBytes } from 'node:crypto';
import {
  FIELD_DAY_FACILITIES,
  runFieldDay,
  type FieldDayResult,
} from '../test/support/field-day.js';
import { startServer } from '../test/support/server-process.js';

export interface FieldDayFigures {
  gzip: boolean;
  changes: number;
  payloadBytesPerChange: number;
  wireBytesPerChange: number;
  upBytes: number;
  downBytes: number;
  /** Wire bytes over payload bytes (1 = nothing but the app's data on the wire). */
  ratio: number;
  seconds: number;
  drops: number;
  seed: number;
}

const round = (value: number, digits = 2) => Number(value.toFixed(digits));

function figures(gzip: boolean, result: FieldDayResult): FieldDayFigures {
  const wire = result.wireBytes.up + result.wireBytes.down;
  return {
    gzip,
    changes: result.changes,
    payloadBytesPerChange: round(result.payloadBytes / result.changes, 1),
    wireBytesPerChange: round(wire / result.changes, 1),
    upBytes: result.wireBytes.up,
    downBytes: result.wireBytes.down,
    ratio: round(wire / result.payloadBytes),
    seconds: round(result.durationMs / 1000, 1),
    drops: result.drops,
    seed: result.seed,
  };
}

export async function benchFieldDay(
  options: { attendance?: number; assetEdits?: number; dropRate?: number } = {},
): Promise<FieldDayFigures[]> {
  const server = await startServer();
  const seed = Number(process.env.SYNCLINE_PROXY_SEED ?? randomBytes(4).readUInt32BE() >>> 1);
  const out: FieldDayFigures[] = [];
  try {
    for (const gzip of [true, false]) {
      const runId = `${gzip ? 'gzip' : 'plain'}-${randomBytes(3).toString('hex')}`;
      console.error(`  field day ${gzip ? 'with' : 'without'} gzip …`);
      const result = await runFieldDay({
        serverUrl: server.url,
        token: server.token(`worker-${runId}`, `field-day-${runId}`, 'user', {
          facilities: FIELD_DAY_FACILITIES,
        }),
        runId,
        attendance: options.attendance ?? 500,
        assetEdits: options.assetEdits ?? 200,
        assets: 20,
        gzip,
        proxy: {
          dropRate: options.dropRate ?? 0.25,
          seed,
          log: (line) => console.error(`  ${line}`),
        },
        timeoutMs: 10 * 60_000,
      });
      if (result.problems.length > 0)
        throw new Error(`field day audit failed: ${result.problems.slice(0, 5).join('; ')}`);
      out.push(figures(gzip, result));
    }
  } finally {
    await server.stop();
  }
  return out;
}

export function printFieldDay(rows: readonly FieldDayFigures[]): void {
  console.log(
    '\nField day through a 2G link (50 kbit/s each way, 1 s round trip, random drops): ' +
      'every mutation applied once (audited)',
  );
  console.log(
    'gzip  changes  payload B/change  wire B/change  up B     down B   wire/payload  seconds  drops',
  );
  for (const r of rows) {
    console.log(
      [
        (r.gzip ? 'yes' : 'no').padEnd(4),
        String(r.changes).padStart(7),
        String(r.payloadBytesPerChange).padStart(16),
        String(r.wireBytesPerChange).padStart(13),
        String(r.upBytes).padStart(7),
        String(r.downBytes).padStart(7),
        `${r.ratio}×`.padStart(12),
        String(r.seconds).padStart(7),
        String(r.drops).padStart(6),
      ].join('  '),
    );
  }
  const withGzip = rows.find((r) => r.gzip);
  if (withGzip)
    console.log(
      `goal ≤ 1.3× with gzip: ${withGzip.ratio <= 1.3 ? 'met' : 'NOT met'} (${withGzip.ratio}×)`,
    );
}
