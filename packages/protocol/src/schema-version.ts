// The Syncline-Schema-Version request header: the local schema versions of the collections an app
// declares, `visits=3,assets=1`. The SDK sends it with every request; the server reads it on the
// /api/sync routes, logs it and keeps it per device.

export const schemaVersionHeaderName = 'syncline-schema-version';

/** Bounds that keep a header cheap to read and to store. */
export const schemaVersionLimits = { maxLength: 2048, maxEntries: 100 } as const;

const entityTypePattern = /^[a-z][a-z0-9_]{0,63}$/;
const versionPattern = /^[1-9][0-9]{0,8}$/;

export type SchemaVersionParse =
  { ok: true; versions: Record<string, number>; text: string } | { ok: false; reason: string };

/**
 * Reads the header: comma-separated `type=version` entries (spaces around them allowed, as HTTP
 * joins repeated headers with ", "), each type an entity type named once, each version a whole
 * number from 1. `text` is the canonical form, sorted by type.
 */
export function parseSchemaVersionHeader(header: string): SchemaVersionParse {
  if (header.length > schemaVersionLimits.maxLength) {
    return { ok: false, reason: `longer than ${schemaVersionLimits.maxLength} characters` };
  }
  const entries = header.split(',').map((entry) => entry.trim());
  if (entries.length > schemaVersionLimits.maxEntries) {
    return { ok: false, reason: `more than ${schemaVersionLimits.maxEntries} collections` };
  }
  const versions: Record<string, number> = {};
  for (const entry of entries) {
    const [type, version, extra] = entry.split('=');
    if (type === undefined || version === undefined || extra !== undefined) {
      return { ok: false, reason: `"${entry.slice(0, 80)}" is not type=version` };
    }
    if (!entityTypePattern.test(type)) {
      return { ok: false, reason: `"${type.slice(0, 80)}" is not an entity type` };
    }
    if (!versionPattern.test(version)) {
      return { ok: false, reason: `the version of ${type} is not a whole number from 1` };
    }
    if (Object.hasOwn(versions, type)) return { ok: false, reason: `${type} is named twice` };
    versions[type] = Number(version);
  }
  const text = Object.keys(versions)
    .sort()
    .map((type) => `${type}=${versions[type]}`)
    .join(',');
  return { ok: true, versions, text };
}
