// A collection's `indexes`: the fields find() may use, and the compound indexes that give an
// equality on one field the order of another without reading past the page. Compounds are opt-in
// (as in Dexie's '[a+b]' or RxDB's ['a', 'b']): every one costs each row an index key on write.
import type { CompoundIndex } from './ports.js';

/** A field name, or a compound: [equality field, orderBy field], both declared as fields too. */
export type IndexDeclaration = readonly (string | CompoundIndex)[];

export interface CollectionIndexes {
  fields: readonly string[];
  compounds: readonly CompoundIndex[];
}

/** A collection's `indexes` that cannot be used; the client is not created. */
export class IndexDeclarationError extends Error {
  override readonly name = 'IndexDeclarationError';
  readonly code = 'INVALID_INDEXES';
}

const none: CollectionIndexes = { fields: [], compounds: [] };

/** Splits and checks a collection's declaration; throws IndexDeclarationError naming it. */
export function parseIndexes(type: string, declared: unknown): CollectionIndexes {
  if (declared === undefined) return none;
  const fail = (message: string): never => {
    throw new IndexDeclarationError(`collections.${type}.indexes: ${message}`);
  };
  if (!Array.isArray(declared)) fail('must be a list of field names and [field, field] pairs');
  const entries = declared as unknown[];
  const fields = entries.filter((entry): entry is string => typeof entry === 'string');
  for (const field of fields) if (field.length === 0) fail('a field name must not be empty');
  if (new Set(fields).size !== fields.length) fail('a field is declared twice');
  const compounds: CompoundIndex[] = [];
  const seen = new Set<string>();
  for (const entry of entries) {
    if (typeof entry === 'string') continue;
    if (
      !Array.isArray(entry) ||
      entry.length !== 2 ||
      !entry.every((field) => typeof field === 'string')
    ) {
      fail(`${JSON.stringify(entry)} is neither a field name nor a [field, field] compound`);
    }
    const [first, second] = entry as [string, string];
    for (const field of [first, second]) {
      if (!fields.includes(field)) {
        fail(
          `the compound [${first}, ${second}] names "${field}", which is not declared on its own`,
        );
      }
    }
    if (first === second) fail(`the compound [${first}, ${second}] names one field twice`);
    const key = JSON.stringify([first, second]);
    if (seen.has(key)) fail(`the compound [${first}, ${second}] is declared twice`);
    seen.add(key);
    compounds.push([first, second]);
  }
  return { fields, compounds };
}
