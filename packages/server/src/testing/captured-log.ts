// A pino logger whose JSON lines a test reads back, for checks of what the server logs.
import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';

export function capturedLog(level = 'info'): {
  logger: Logger;
  lines: Array<Record<string, unknown>>;
} {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line) lines.push(JSON.parse(line));
      done();
    },
  });
  return { logger: pino({ level }, sink), lines };
}
