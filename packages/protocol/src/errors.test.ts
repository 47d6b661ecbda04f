// Keeps the error registry and docs/errors.md in step: every code has an entry with the same
// HTTP status, and no entry documents a code the registry lacks.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { errorCodes, isErrorCode } from './errors.js';

const docsPath = new URL('../../../docs/errors.md', import.meta.url);

interface DocEntry {
  status: number | undefined;
  when: boolean;
  client: boolean;
}

function parseDocs(markdown: string): Map<string, DocEntry> {
  const entries = new Map<string, DocEntry>();
  let current: DocEntry | undefined;
  for (const line of markdown.split('\n')) {
    const heading = /^## (\S+)\s*$/.exec(line);
    if (heading?.[1]) {
      if (entries.has(heading[1])) throw new Error(`docs/errors.md documents ${heading[1]} twice`);
      current = { status: undefined, when: false, client: false };
      entries.set(heading[1], current);
      continue;
    }
    if (!current) continue;
    const status = /^- \*\*HTTP status:\*\* (\d{3})\s*$/.exec(line);
    if (status?.[1]) current.status = Number(status[1]);
    if (/^- \*\*When:\*\* \S/.test(line)) current.when = true;
    if (/^- \*\*Client:\*\* \S/.test(line)) current.client = true;
  }
  return entries;
}

describe('error registry and docs/errors.md', () => {
  const docs = parseDocs(readFileSync(docsPath, 'utf8'));

  it.each(Object.entries(errorCodes))('%s has a docs entry with its status', (code, spec) => {
    const entry = docs.get(code);
    expect(entry, `docs/errors.md has no "## ${code}" entry`).toBeDefined();
    expect(entry?.status).toBe(spec.status);
    expect(entry?.when, `${code}: "When" is missing`).toBe(true);
    expect(entry?.client, `${code}: "Client" is missing`).toBe(true);
  });

  it('documents no code the registry lacks', () => {
    const extra = [...docs.keys()].filter((code) => !isErrorCode(code));
    expect(extra).toEqual([]);
  });

  it('gives every code a 4xx or 5xx status and a message', () => {
    for (const [code, spec] of Object.entries(errorCodes)) {
      expect(spec.status, code).toBeGreaterThanOrEqual(400);
      expect(spec.status, code).toBeLessThan(600);
      expect(spec.message.length, code).toBeGreaterThan(0);
    }
  });
});
