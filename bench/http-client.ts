// The benchmark's client for pushes: node:http over one keep-alive agent without a socket cap, so
// fifty devices at once each get a connection of their own at the start and keep it, and the
// latency a push shows is the server's answer, not a wait in the client's own pool. (Pulls keep
// fetch, which asks for compressed answers as a browser does.)
import { Agent, request } from 'node:http';
import { HttpError } from '../test/support/http.js';

const agent = new Agent({ keepAlive: true, maxSockets: Number.POSITIVE_INFINITY });

export function postJsonHttp<T>(url: string, token: string, body: unknown): Promise<T> {
  const payload = JSON.stringify(body);
  return new Promise<T>((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'POST',
        agent,
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(payload),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          try {
            const parsed: unknown = text ? JSON.parse(text) : undefined;
            const status = res.statusCode ?? 0;
            if (status < 200 || status >= 300) {
              reject(new HttpError(status, parsed, new URL(url).pathname));
            } else resolve(parsed as T);
          } catch (error) {
            reject(error as Error);
          }
        });
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}
