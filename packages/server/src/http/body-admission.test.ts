// Regression: a gzip push cut off while the hooks before body admission ran (a dropped
// connection on a 2G link) took a large-body slot and never gave it back, as its connection's
// 'close' had fired before admission listened for it. Two such pushes and every later gzip push
// of the server waited forever.
import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { bodyAdmissionPlugin } from './body-admission.js';

let app: FastifyInstance | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

/** Sends a gzip request's head and part of its body, then cuts the connection. */
function cutMidBody(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => {
      socket.write(
        'POST /push HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\n' +
          'content-encoding: gzip\r\ncontent-length: 500\r\n\r\n' +
          'x'.repeat(100),
      );
      setTimeout(() => socket.destroy(), 20);
    });
    socket.on('close', () => resolve());
    socket.on('error', reject);
  });
}

describe('body admission', () => {
  it('gives back the slot of a request whose connection closed before admission', async () => {
    app = Fastify();
    // An earlier hook still at work (token checks, say) when the client's connection drops.
    app.addHook('onRequest', async (request) => {
      if (request.headers['content-length'] !== '500') return;
      await new Promise<void>((resolve) => {
        if (request.raw.destroyed) resolve();
        else request.raw.once('close', () => resolve());
      });
    });
    await app.register(bodyAdmissionPlugin, {
      bodyTimeoutMs: 5_000,
      largeBodyConcurrency: 1,
      largeBodyBytes: 1024 * 1024,
    });
    // The body as it came (inflating it is body-parsing's job, not admission's).
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_request, body, done) =>
      done(null, { bytes: body.length }),
    );
    app.post('/push', async (request) => request.body);
    await app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = app.server.address() as AddressInfo;

    await cutMidBody(port);
    await cutMidBody(port);
    // Let the cut requests' hooks run on.
    await new Promise((resolve) => setTimeout(resolve, 100));

    const body = gzipSync(JSON.stringify({ changes: [1, 2, 3] }));
    const answer = await fetch(`http://127.0.0.1:${port}/push`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
      body,
      signal: AbortSignal.timeout(5_000),
    });
    expect(answer.status).toBe(200);
    expect(await answer.json()).toEqual({ bytes: body.length });
  });
});
