// JSON helpers the engine relies on: plain-object checks, deep equality and RFC 7396 merge patches.
import type { JsonObject } from './ports.js';

export function isPlainObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) {
    return Array.isArray(b) && a.length === b.length && a.every((item, i) => deepEqual(item, b[i]));
  }
  if (isPlainObject(a) && isPlainObject(b)) {
    const keys = Object.keys(a);
    return (
      keys.length === Object.keys(b).length &&
      keys.every((key) => Object.hasOwn(b, key) && deepEqual(a[key], b[key]))
    );
  }
  return false;
}

/** RFC 7396: `null` removes a member, objects merge recursively, anything else replaces. */
export function applyMergePatch(target: JsonObject | null, patch: JsonObject): JsonObject {
  const result: JsonObject = { ...(target ?? {}) };
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else if (isPlainObject(value)) {
      const current = result[key];
      result[key] = applyMergePatch(isPlainObject(current) ? current : null, value);
    } else result[key] = value;
  }
  return result;
}

/** Byte length of a value's JSON text, for the per-payload size limit. */
export function jsonByteLength(value: unknown): number {
  return new TextEncoder().encode(JSON.stringify(value) ?? '').length;
}
