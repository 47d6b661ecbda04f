// The collections config schema: every misspelled key or value is a fault naming its path.
import { describe, expect, it } from 'vitest';
import { assertCollectionsConfig, collectionsConfigErrors } from './collections-config.js';

describe('collections config schema', () => {
  it('accepts a config that uses every setting', () => {
    const config = {
      strict: true,
      presets: false,
      defaultStrategy: 'MERGE',
      collections: {
        visit: {
          schema: { type: 'object', properties: { facilityId: { type: 'string' } } },
          access: ['owner', { field: 'facilityId', claim: 'facilities' }],
          conflictStrategy: 'MANUAL',
          mergePolicy: { notes: 'LATEST', count: 'MAX' },
          timeDetector: { fields: ['clockIn'], toleranceMs: 60_000 },
          notInFuture: ['clockIn'],
          clientWinsAdminOnly: true,
        },
      },
    };
    expect(collectionsConfigErrors(config)).toEqual([]);
    expect(assertCollectionsConfig(config)).toBe(config);
  });

  it.each([
    [{ collections: { visit: { acess: 'owner' } } }, 'collections.visit.acess: unknown key'],
    [{ colections: {} }, 'colections: unknown key'],
    [
      { collections: { visit: { notInFuture: 'clockIn' } } },
      'collections.visit.notInFuture: must be array',
    ],
    [
      { collections: { visit: { conflictStrategy: 'CLIENT_WIN' } } },
      'collections.visit.conflictStrategy: must be one of SERVER_WINS, CLIENT_WINS, LAST_WRITE_WINS, MERGE, MANUAL',
    ],
    [
      { defaultStrategy: 'server_wins' },
      'defaultStrategy: must be one of SERVER_WINS, CLIENT_WINS, LAST_WRITE_WINS, MERGE, MANUAL',
    ],
    [
      { collections: { visit: { access: 'owners' } } },
      'collections.visit.access: must be "tenant", "owner", { "field", "claim" } or a list of these',
    ],
    [
      { collections: { visit: { access: [{ field: 'f', claim: 'c', clam: 'x' }] } } },
      'collections.visit.access.0.clam: unknown key',
    ],
    [
      { collections: { Visit: {} } },
      'collections.Visit: not a valid entity type name (^[a-z][a-z0-9_]{0,63}$)',
    ],
    [
      { collections: { visit: { timeDetector: { fields: ['a'], tolerance: 5 } } } },
      'collections.visit.timeDetector.tolerance: unknown key',
    ],
    [
      { collections: { visit: { mergePolicy: { a: 'BOTH' } } } },
      'collections.visit.mergePolicy.a: must be one of CLIENT, SERVER, LATEST, MAX, MIN, UNION',
    ],
  ])('%j → %s', (config, fault) => {
    expect(collectionsConfigErrors(config)).toContain(fault);
    expect(() => assertCollectionsConfig(config)).toThrow(fault);
  });
});
