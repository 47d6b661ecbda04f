// The field-by-field comparison a person settles a conflict with: for every top-level field of
// the base, server and device versions, what each side holds and which side changed it.
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonRecord = Record<string, Json>;

/** Which versions a merged field can be taken from, or typed in by hand. */
export type FieldSource = 'base' | 'server' | 'device' | 'custom';

export interface FieldComparison {
  field: string;
  base: Json | undefined;
  server: Json | undefined;
  device: Json | undefined;
  serverChanged: boolean;
  deviceChanged: boolean;
  /** Both sides changed it, to different values: a person must choose. */
  clash: boolean;
  /** What a three-way merge takes when only one side changed it (server when neither or both did). */
  suggested: Exclude<FieldSource, 'custom'>;
}

/** Deep equality of JSON values; object key order does not matter. */
export function sameJson(a: Json | undefined, b: Json | undefined): boolean {
  if (a === b) return true;
  if (a === undefined || b === undefined || a === null || b === null) return false;
  if (typeof a !== 'object' || typeof b !== 'object') return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((item, i) => sameJson(item, b[i]));
  }
  const ao = a as JsonRecord;
  const bo = b as JsonRecord;
  const keys = Object.keys(ao);
  return (
    keys.length === Object.keys(bo).length &&
    keys.every((key) => Object.hasOwn(bo, key) && sameJson(ao[key], bo[key]))
  );
}

export function compareVersions(
  base: JsonRecord | null,
  server: JsonRecord | null,
  device: JsonRecord | null,
): FieldComparison[] {
  const fields = new Set<string>();
  for (const side of [base, server, device])
    for (const key of Object.keys(side ?? {})) fields.add(key);
  const pick = (side: JsonRecord | null, field: string) =>
    side && Object.hasOwn(side, field) ? side[field] : undefined;
  return [...fields].sort().map((field) => {
    const b = pick(base, field);
    const s = pick(server, field);
    const d = pick(device, field);
    const serverChanged = !sameJson(b, s);
    const deviceChanged = !sameJson(b, d);
    return {
      field,
      base: b,
      server: s,
      device: d,
      serverChanged,
      deviceChanged,
      clash: serverChanged && deviceChanged && !sameJson(s, d),
      suggested: deviceChanged && !serverChanged ? 'device' : 'server',
    };
  });
}

/** The merged payload from a choice per field; a field whose chosen value is absent is left out. */
export function mergedPayload(
  rows: readonly FieldComparison[],
  choices: Readonly<Record<string, FieldSource>>,
  custom: Readonly<Record<string, Json>>,
): JsonRecord {
  const merged: JsonRecord = {};
  for (const row of rows) {
    const source = choices[row.field] ?? row.suggested;
    const value = source === 'custom' ? custom[row.field] : row[source];
    if (value !== undefined) merged[row.field] = value;
  }
  return merged;
}

/** A JSON value as a person reads and types it: strings bare, everything else as JSON. */
export function showJson(value: Json | undefined): string {
  if (value === undefined) return '';
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** What a person typed: valid JSON as JSON (numbers, true, null, objects), anything else as text. */
export function parseTyped(text: string): Json {
  const trimmed = text.trim();
  if (trimmed === '') return '';
  try {
    return JSON.parse(trimmed) as Json;
  } catch {
    return text;
  }
}
