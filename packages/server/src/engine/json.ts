// JSON helpers the engine relies on: plain-object checks, deep equality, and RFC 7396 merge
// patches (the protocol's, which clients apply too).
import type { JsonObject } from './ports.js';

export { applyMergePatch } from '@syncline/protocol';

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

/**
 * JSON text of payload objects, by object: a push's payload is stringified for its size check and
 * again for the store's columns otherwise. Sound because payloads are values: nothing changes one
 * in place once parsed (a merge builds a new object). The store writes JSON columns through it.
 */
export const payloadJsonTexts = new WeakMap<object, string>();

/** Byte length of a value's JSON text, for the per-payload size limit. */
export function jsonByteLength(value: unknown): number {
  let text: string | undefined;
  if (value !== null && typeof value === 'object') {
    text = payloadJsonTexts.get(value);
    if (text === undefined) {
      text = JSON.stringify(value);
      payloadJsonTexts.set(value, text);
    }
  } else {
    text = JSON.stringify(value) ?? '';
  }
  // Counted without encoding the text into a new buffer (what TextEncoder#encode would do).
  return Buffer.byteLength(text, 'utf8');
}
