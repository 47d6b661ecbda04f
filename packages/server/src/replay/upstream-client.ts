// One HTTP request to a business's own API (seed 003), connected only to an address the upstream
// policy allows: the host name is resolved once, every answer is checked, and the socket connects
// to a checked answer (a custom lookup), so a DNS answer that changes after the check cannot
// redirect the request. Redirects are answered, never followed.
import { promises as dns } from 'node:dns';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { LookupFunction } from 'node:net';
import { parseRetryAfter } from '@syncline/protocol';
import type { HostResolver } from './ports.js';
import type { UpstreamAnswer } from './policy.js';
import { portOf, type UpstreamPolicy } from './upstream-address.js';

/** The error a refused address ends a request with; reported as a POLICY failure, not retried. */
export class UpstreamAddressRefused extends Error {
  readonly code = 'UPSTREAM_ADDRESS_REFUSED';
}

/** The system resolver (getaddrinfo: /etc/hosts, then DNS), as a connection would use it. */
export const systemResolver: HostResolver = async (hostname) => {
  const answers = await dns.lookup(hostname, { all: true, verbatim: true });
  return answers.map((a) => ({ address: a.address, family: a.family === 6 ? 6 : 4 }));
};

/**
 * Resolves through the given DNS servers (`ip` or `ip:port`, SYNCLINE_UPSTREAM_DNS) instead of
 * the system resolver: A and AAAA records, no hosts file.
 */
export function createDnsServerResolver(servers: readonly string[]): HostResolver {
  const resolver = new dns.Resolver({ timeout: 2_000, tries: 2 });
  resolver.setServers([...servers]);
  return async (hostname) => {
    const [v4, v6] = await Promise.allSettled([
      resolver.resolve4(hostname),
      resolver.resolve6(hostname),
    ]);
    const answers = [
      ...(v4.status === 'fulfilled'
        ? v4.value.map((address) => ({ address, family: 4 as const }))
        : []),
      ...(v6.status === 'fulfilled'
        ? v6.value.map((address) => ({ address, family: 6 as const }))
        : []),
    ];
    if (answers.length === 0) {
      throw v4.status === 'rejected' ? v4.reason : new Error(`no address for ${hostname}`);
    }
    return answers;
  };
}

/**
 * A socket lookup that resolves once and hands the socket only addresses the policy allows; if
 * any answer is refused, the connection is refused (a name that points into a private network
 * in one answer is not trusted with the others).
 */
export function vettedLookup(
  policy: UpstreamPolicy,
  resolver: HostResolver,
  port: number,
): LookupFunction {
  return (hostname, options, callback) => {
    resolver(hostname).then(
      (answers) => {
        for (const { address } of answers) {
          const refused = policy.refuseAddress(hostname, address, port);
          if (refused) {
            callback(new UpstreamAddressRefused(refused), '', 4);
            return;
          }
        }
        const family = options.family === 4 || options.family === 6 ? options.family : 0;
        const usable = answers.filter((a) => family === 0 || a.family === family);
        if (usable.length === 0) {
          const error = Object.assign(new Error(`no IPv${family} address for ${hostname}`), {
            code: 'ENOTFOUND',
          });
          callback(error, '', 4);
          return;
        }
        if (options.all) {
          (callback as unknown as (e: null, a: { address: string; family: number }[]) => void)(
            null,
            usable.map((a) => ({ address: a.address, family: a.family })),
          );
        } else {
          callback(null, usable[0]!.address, usable[0]!.family);
        }
      },
      (error: unknown) => callback(error as NodeJS.ErrnoException, '', 4),
    );
  };
}

export interface UpstreamRequest {
  url: string;
  method: string;
  headers: Record<string, string>;
  body?: string;
  /** Connect (DNS included), send and read the whole answer. */
  timeoutMs: number;
  /** Longer answers are cut here (and kept as text). */
  maxResponseChars: number;
}

function readBody(res: IncomingMessage, maxChars: number): Promise<unknown> {
  return new Promise((resolve, reject) => {
    let text = '';
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => {
      text += chunk;
      if (text.length >= maxChars) {
        // Enough: the rest is not read (an upstream cannot make the server hold a huge answer).
        res.destroy();
        finish();
      }
    });
    const finish = () => {
      const kept = text.slice(0, maxChars);
      if (kept === '') return resolve(null);
      try {
        resolve(JSON.parse(kept) as unknown);
      } catch {
        resolve(kept);
      }
    };
    res.on('end', finish);
    res.on('error', reject);
  });
}

/** Sends one request, answering with what came back or why nothing did. Never throws. */
export async function sendUpstream(
  req: UpstreamRequest,
  guard: { policy: UpstreamPolicy; resolver: HostResolver },
): Promise<UpstreamAnswer> {
  const started = performance.now();
  const elapsed = () => performance.now() - started;
  const url = new URL(req.url);
  const port = portOf(url);
  // A literal address is connected to as it is (no lookup): refuseHost judges it here.
  const refused = guard.policy.refuseHost(url);
  if (refused) return { kind: 'error', category: 'POLICY', message: refused, durationMs: 0 };

  const signal = AbortSignal.timeout(req.timeoutMs);
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  try {
    const res = await new Promise<IncomingMessage>((resolve, reject) => {
      const outgoing = send(url, {
        method: req.method,
        headers: {
          ...req.headers,
          ...(req.body !== undefined
            ? { 'content-length': String(Buffer.byteLength(req.body)) }
            : {}),
        },
        lookup: vettedLookup(guard.policy, guard.resolver, port),
        // One connection per request: no pooled socket outlives the check it was made under.
        agent: false,
        signal,
      });
      outgoing.once('response', resolve);
      outgoing.once('error', reject);
      outgoing.end(req.body);
    });
    const body = await readBody(res, req.maxResponseChars);
    // An upstream may not park an operation for more than an hour.
    const retryAfter = res.headers['retry-after'];
    const asked = parseRetryAfter(typeof retryAfter === 'string' ? retryAfter : null, Date.now());
    const retryAfterMs = asked === undefined ? undefined : Math.min(asked, 3_600_000);
    return {
      kind: 'response',
      status: res.statusCode ?? 0,
      body,
      ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
      durationMs: elapsed(),
    };
  } catch (error) {
    if (error instanceof UpstreamAddressRefused) {
      return { kind: 'error', category: 'POLICY', message: error.message, durationMs: elapsed() };
    }
    if (signal.aborted) {
      return {
        kind: 'error',
        category: 'TIMEOUT',
        message: `No answer within ${req.timeoutMs} ms`,
        durationMs: elapsed(),
      };
    }
    const { code, message } = error as NodeJS.ErrnoException;
    return {
      kind: 'error',
      category: 'NETWORK',
      message: `${code ?? 'NETWORK_ERROR'}: ${message}`,
      durationMs: elapsed(),
    };
  }
}
