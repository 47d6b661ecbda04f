// JSON Merge Patch (RFC 7396), the payload of every UPDATE: one implementation, so that the
// server's stored state and a client's rebased view of the same patches can never disagree.

/** A JSON object: an entity's payload, or a merge patch. */
export type JsonObject = Record<string, unknown>;

const isObject = (value: unknown): value is JsonObject =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * Applies `patch` to `target` without changing either: `null` removes a member, objects merge
 * recursively, anything else replaces (a copy, so the result shares nothing with the patch).
 */
export function applyMergePatch(target: JsonObject | null, patch: JsonObject): JsonObject;
export function applyMergePatch(target: unknown, patch: unknown): unknown;
export function applyMergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return structuredClone(patch);
  const result: JsonObject = isObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    // defineProperty: a '__proto__' key must stay a plain field, never reach the prototype.
    else
      Object.defineProperty(result, key, {
        value: applyMergePatch(result[key], value),
        enumerable: true,
        writable: true,
        configurable: true,
      });
  }
  return result;
}
