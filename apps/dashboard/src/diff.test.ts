import { describe, expect, it } from 'vitest';
import { compareVersions, mergedPayload, parseTyped, sameJson } from './diff.js';

describe('compareVersions', () => {
  const base = { name: 'Pump', status: 'ok', site: 'north', tags: ['a'] };
  const server = { name: 'Pump', status: 'repair', site: 'north', tags: ['a'] };
  const device = { name: 'Pump 7', status: 'retired', site: 'north', tags: ['a'], note: 'x' };

  it('marks which side changed each field and where the two clash', () => {
    const rows = Object.fromEntries(compareVersions(base, server, device).map((r) => [r.field, r]));
    expect(rows.status).toMatchObject({ serverChanged: true, deviceChanged: true, clash: true });
    expect(rows.name).toMatchObject({ serverChanged: false, deviceChanged: true, clash: false });
    expect(rows.name?.suggested).toBe('device');
    expect(rows.site).toMatchObject({ serverChanged: false, deviceChanged: false });
    expect(rows.note).toMatchObject({ base: undefined, device: 'x', deviceChanged: true });
    expect(Object.keys(rows)).toEqual(['name', 'note', 'site', 'status', 'tags']);
  });

  it('treats a delete (null version) as every field gone', () => {
    const rows = compareVersions(base, server, null);
    expect(rows.every((r) => r.device === undefined && r.deviceChanged)).toBe(true);
  });

  it('builds the merged payload from the choices, the suggestion by default', () => {
    const rows = compareVersions(base, server, device);
    const merged = mergedPayload(rows, { status: 'custom', tags: 'base' }, { status: 'scrapped' });
    expect(merged).toEqual({
      name: 'Pump 7',
      note: 'x',
      site: 'north',
      status: 'scrapped',
      tags: ['a'],
    });
  });
});

describe('JSON helpers', () => {
  it('compares deeply, ignoring key order', () => {
    expect(sameJson({ a: 1, b: [1, { c: 2 }] }, { b: [1, { c: 2 }], a: 1 })).toBe(true);
    expect(sameJson({ a: 1 }, { a: 1, b: undefined as never })).toBe(false);
    expect(sameJson([1, 2], [2, 1])).toBe(false);
  });

  it('reads typed values as JSON when they are JSON, else as text', () => {
    expect(parseTyped('42')).toBe(42);
    expect(parseTyped('true')).toBe(true);
    expect(parseTyped('{"a":1}')).toEqual({ a: 1 });
    expect(parseTyped('in repair')).toBe('in repair');
  });
});
