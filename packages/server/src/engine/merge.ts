// Three-way merge of entity payloads against the version both sides started from. Fields changed
// on one side only are taken from that side; fields changed on both sides to different values
// follow the collection's field policy, or are reported as overlapping for a person to settle.
import { FieldPolicy } from './collections.js';
import { deepEqual, isPlainObject } from './json.js';
import type { JsonObject } from './ports.js';

export interface MergeInput {
  base: JsonObject | null;
  server: JsonObject;
  client: JsonObject;
  policies: Readonly<Record<string, FieldPolicy>>;
  /** Which side edited last, for the LATEST policy. */
  clientIsLater: boolean;
}

export interface MergeResult {
  merged: JsonObject;
  /** Dotted paths both sides changed differently and no policy settled. */
  overlapping: string[];
}

export function threeWayMerge(input: MergeInput): MergeResult {
  const overlapping: string[] = [];
  const merged = mergeObjects(input.base ?? {}, input.server, input.client, '', input, overlapping);
  return { merged, overlapping };
}

function mergeObjects(
  base: JsonObject,
  server: JsonObject,
  client: JsonObject,
  prefix: string,
  input: MergeInput,
  overlapping: string[],
): JsonObject {
  const result: JsonObject = {};
  const keys = new Set([...Object.keys(base), ...Object.keys(server), ...Object.keys(client)]);
  for (const key of keys) {
    const path = prefix ? `${prefix}.${key}` : key;
    const b = base[key];
    const s = server[key];
    const c = client[key];
    const serverChanged = !deepEqual(b, s);
    const clientChanged = !deepEqual(b, c);
    let value: unknown;
    if (!clientChanged || deepEqual(s, c)) value = s;
    else if (!serverChanged) value = c;
    else if (isPlainObject(s) && isPlainObject(c) && !policyFor(input.policies, path)) {
      value = mergeObjects(isPlainObject(b) ? b : {}, s, c, path, input, overlapping);
    } else {
      const policy = policyFor(input.policies, path) ?? policyFor(input.policies, key);
      if (policy) value = applyPolicy(policy, s, c, input.clientIsLater);
      else {
        overlapping.push(path);
        value = s;
      }
    }
    if (value !== undefined) result[key] = value;
  }
  return result;
}

/** Own properties only: a field named `toString` must not find Object.prototype's. */
function policyFor(policies: Readonly<Record<string, FieldPolicy>>, name: string) {
  return Object.hasOwn(policies, name) ? policies[name] : undefined;
}

function applyPolicy(
  policy: FieldPolicy,
  server: unknown,
  client: unknown,
  clientIsLater: boolean,
) {
  switch (policy) {
    case FieldPolicy.CLIENT:
      return client;
    case FieldPolicy.SERVER:
      return server;
    case FieldPolicy.LATEST:
      return clientIsLater ? client : server;
    case FieldPolicy.MAX:
      return compare(server, client) >= 0 ? server : client;
    case FieldPolicy.MIN:
      return compare(server, client) <= 0 ? server : client;
    case FieldPolicy.UNION: {
      if (!Array.isArray(server) || !Array.isArray(client)) return client ?? server;
      const union = [...server];
      for (const item of client)
        if (!union.some((known) => deepEqual(known, item))) union.push(item);
      return union;
    }
    default:
      throw new Error(`Unknown merge policy ${String(policy satisfies never)}`);
  }
}

function compare(a: unknown, b: unknown): number {
  if (a === undefined || a === null) return -1;
  if (b === undefined || b === null) return 1;
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  return String(a) < String(b) ? -1 : String(a) > String(b) ? 1 : 0;
}

/** True when the two sides changed disjoint fields (a merge would need no person). */
export function isDisjointEdit(input: Omit<MergeInput, 'policies'>): boolean {
  return threeWayMerge({ ...input, policies: {} }).overlapping.length === 0;
}
