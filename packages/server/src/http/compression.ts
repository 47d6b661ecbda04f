// Compressed answers (brotli or gzip, as the client accepts) for every route, above 1 KiB: field
// devices sync over 2G links and metered data. Request bodies are not this plugin's business:
// body-parsing.ts inflates gzip bodies itself, within the body limit. The realtime stream is
// hijacked (raw SSE or a websocket upgrade), which this never sees, so its pokes are never held
// back in a compressor's buffer.
import { constants as zlibConstants } from 'node:zlib';
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

const encodings: Array<'br' | 'gzip'> = ['br', 'gzip'];

/**
 * Bulk answers up to this size are compressed in one synchronous call. A delta page of 1,000
 * changes is about 600 KB of JSON; at brotli 1 or gzip 3 one call takes about a millisecond,
 * where the stream @fastify/compress otherwise pipes it through (for anything over 8 KB on two
 * cores) spent several times that on the event loop in stream bookkeeping and 16 KB chunks, and
 * sent it chunked. Bigger answers (snapshot pages of large payloads) still stream, so no single
 * answer holds the event loop for long.
 */
export const bulkSyncCompressionBytes = 2 * 1024 * 1024;

/**
 * For the feed pages of push answers and the delta feed, and the first-sync snapshot's pages
 * (hundreds of kilobytes to megabytes each, hundreds of them per device): brotli at quality 1 and gzip at level 3. On such pages they
 * cost a third to a tenth of the defaults' time (brotli 4, gzip 6) for answers at most a fifth
 * larger; at the defaults the compression was a large share of a first sync's server time. A
 * route option of @fastify/compress.
 */
export const bulkCompression = {
  encodings,
  threshold: compressionDefaults.thresholdBytes,
  syncThreshold: bulkSyncCompressionBytes,
  brotliOptions: { params: { [zlibConstants.BROTLI_PARAM_QUALITY]: 1 } },
  zlibOptions: { level: 3 },
};

async function compression(app: FastifyInstance, options: Partial<CompressionOptions>) {
  await app.register(compress, {
    global: true,
    globalDecompression: false,
    encodings,
    threshold: options.thresholdBytes ?? compressionDefaults.thresholdBytes,
  });
}

export const compressionPlugin = fp(compression, { name: 'syncline-compression' });
