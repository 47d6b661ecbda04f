// Compressed answers (brotli or gzip, as the client accepts) for every route, above 1 KiB: field
// devices sync over 2G links and metered data. Request bodies are not this plugin's business:
// body-parsing.ts inflates gzip bodies itself, within the body limit. The realtime stream is
// hijacked (raw SSE or a websocket upgrade), which this never sees, so its pokes are never held
// back in a compressor's buffer.
import compress from '@fastify/compress';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';

export interface CompressionOptions {
  /** Answers smaller than this many bytes go out as they are. */
  thresholdBytes: number;
}

export const compressionDefaults: Readonly<CompressionOptions> = Object.freeze({
  thresholdBytes: 1024,
});

async function compression(app: FastifyInstance, options: Partial<CompressionOptions>) {
  await app.register(compress, {
    global: true,
    globalDecompression: false,
    encodings: ['br', 'gzip'],
    threshold: options.thresholdBytes ?? compressionDefaults.thresholdBytes,
  });
}

export const compressionPlugin = fp(compression, { name: 'syncline-compression' });
