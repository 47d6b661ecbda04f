// One upstream request against a real HTTP server on 127.0.0.1, with the resolver injected: the
// socket connects to the very address the policy checked, or not at all.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HostResolver } from './ports.js';
import { createUpstreamPolicy } from './upstream-address.js';
import { startUpstreamServer, type UpstreamServer } from '../testing/upstream-server.js';
import { sendUpstream } from './upstream-client.js';

let upstream: UpstreamServer;
let port: number;
beforeAll(async () => {
  upstream = await startUpstreamServer();
  port = Number(new URL(upstream.url).port);
});
afterAll(() => upstream.close());

/** A resolver that answers from a script, one answer list per call, and counts its calls. */
function scriptedResolver(...answers: string[][]): HostResolver & { calls: string[] } {
  const calls: string[] = [];
  const resolve = async (hostname: string) => {
    calls.push(hostname);
    const next = answers[Math.min(calls.length, answers.length) - 1] ?? [];
    return next.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }) as const);
  };
  return Object.assign(resolve, { calls });
}

const request = (url: string) => ({
  url,
  method: 'POST',
  headers: { 'content-type': 'application/json', 'idempotency-key': 'k' },
  body: JSON.stringify({ total: 1 }),
  timeoutMs: 2_000,
  maxResponseChars: 64 * 1024,
});

describe('sendUpstream', () => {
  it('connects to the address its lookup checked (the name resolves nowhere else)', async () => {
    const policy = createUpstreamPolicy(['shop.test', '127.0.0.1']);
    const resolver = scriptedResolver(['127.0.0.1']);
    const answer = await sendUpstream(request(`http://shop.test:${port}/ok`), {
      policy,
      resolver,
    });
    expect(answer).toMatchObject({ kind: 'response', status: 201 });
    expect(resolver.calls).toEqual(['shop.test']);
    const [received] = upstream.requestsTo('/ok');
    expect(received?.headers.host).toBe(`shop.test:${port}`);
  });

  it('refuses a name that resolves into a refused network, before any connection', async () => {
    const policy = createUpstreamPolicy();
    for (const answers of [['127.0.0.1'], ['93.184.215.14', '10.0.0.7'], ['::ffff:127.0.0.1']]) {
      const resolver = scriptedResolver(answers);
      const answer = await sendUpstream(request(`http://shop.test:${port}/never`), {
        policy,
        resolver,
      });
      expect(answer, answers.join()).toMatchObject({ kind: 'error', category: 'POLICY' });
      expect(answer.kind === 'error' && answer.message).toMatch(/^shop\.test resolves to /);
    }
    expect(upstream.requestsTo('/never')).toHaveLength(0);
  });

  it('judges literal addresses without a lookup, in any spelling', async () => {
    const resolver = scriptedResolver(['93.184.215.14']);
    for (const host of ['127.0.0.1', '2130706433', '0x7f000001', '127.1', '[::ffff:127.0.0.1]']) {
      const answer = await sendUpstream(request(`http://${host}:${port}/literal`), {
        policy: createUpstreamPolicy(),
        resolver,
      });
      expect(answer, host).toMatchObject({ kind: 'error', category: 'POLICY' });
    }
    expect(resolver.calls).toEqual([]);
    expect(upstream.requestsTo('/literal')).toHaveLength(0);
  });

  it('answers a redirect without following it, and cuts a long answer', async () => {
    const policy = createUpstreamPolicy(['127.0.0.1']);
    const resolver = scriptedResolver([]);
    upstream.script('/moved', [{ status: 302, headers: { location: 'http://169.254.169.254/' } }]);
    const moved = await sendUpstream(request(`${upstream.url}/moved`), { policy, resolver });
    expect(moved).toMatchObject({ kind: 'response', status: 302 });
    upstream.script('/long', [{ status: 200, body: { text: 'x'.repeat(10_000) } }]);
    const long = await sendUpstream(
      { ...request(`${upstream.url}/long`), maxResponseChars: 100 },
      { policy, resolver },
    );
    expect(long.kind === 'response' && long.body).toEqual(expect.stringMatching(/^.{100}$/));
  });
});
