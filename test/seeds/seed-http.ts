// HTTP and curl helpers for the seed walkthroughs: requests as the seeds' clients send them, and
// the seeds' curl examples run by curl itself when it is installed.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

/** A parsed JSON answer: the walkthroughs read it field by field, as the seeds document them. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON as the seeds' clients read it
export type Json = any;

export interface Answer<T = Json> {
  status: number;
  headers: Headers;
  body: T;
}

/** A JSON request; `body` undefined sends none. */
export async function call<T = Json>(
  method: string,
  url: string,
  token: string | undefined,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<Answer<T>> {
  const res = await fetch(url, {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...headers,
    },
    ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
}

const run = promisify(execFile);

/** Whether curl is installed (the curl examples then run through it). */
/**
 * Runs a seed's curl command line as written, with `$TOKEN` (and any other `$NAME`) taken from
 * `env` by the shell, and the status code appended by `-w`. Answers the parsed body and status.
 */
export async function curl(
  commandLine: string,
  env: Record<string, string>,
): Promise<{ status: number; body: Json }> {
  const marker = '\n@@status:';
  const { stdout } = await run(
    '/bin/sh',
    ['-c', `${commandLine.replace(/\\\n/g, ' ')} -s -w '${marker}%{http_code}'`],
    { env: { ...process.env, ...env } },
  );
  const at = stdout.lastIndexOf(marker);
  const text = stdout.slice(0, at);
  return {
    status: Number(stdout.slice(at + marker.length)),
    body: text ? JSON.parse(text) : undefined,
  };
}
