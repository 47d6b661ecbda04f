// A config entry for a preset's type overrides only the settings it names.
import { describe, expect, it } from 'vitest';
import { createCollectionRegistry } from '../../packages/server/src/engine/collections.js';
import { presetCollections } from '../../packages/server/src/seeds/presets.js';

describe('config over presets', () => {
  it('attendance keeps seed 000’s facility and future-time rules unless the config opts out', () => {
    const preset = createCollectionRegistry({}, presetCollections).get('attendance');
    expect(preset.access).toEqual(['owner', { field: 'facilityId', claim: 'facilities' }]);
    expect(preset.notInFuture).toEqual(['clockIn', 'clockOut', 'clientTimestamp']);

    const registry = createCollectionRegistry(
      {
        collections: { attendance: { access: 'owner', notInFuture: [] } },
      },
      presetCollections,
    );
    const attendance = registry.get('attendance');
    expect(attendance.access).toBe('owner');
    expect(attendance.notInFuture).toEqual([]);
    // What the config does not name stays the preset's.
    expect(attendance.timeDetector).toEqual({
      fields: ['clockIn', 'clockOut'],
      toleranceMs: 60_000,
    });
    expect(attendance.schema).toBeDefined();
    expect(createCollectionRegistry({}, presetCollections).claimNames()).toEqual(['facilities']);
  });

  it('seed 001’s encounter and patient restrict CLIENT_WINS to admins unless the config opts out', () => {
    const presets = createCollectionRegistry({}, presetCollections);
    expect(presets.get('encounter').clientWinsAdminOnly).toBe(true);
    expect(presets.get('patient').clientWinsAdminOnly).toBe(true);
    const relaxed = createCollectionRegistry(
      {
        collections: { encounter: { clientWinsAdminOnly: false } },
      },
      presetCollections,
    );
    expect(relaxed.get('encounter').clientWinsAdminOnly).toBe(false);
  });

  it('leaves types the presets do not name as the config gives them', () => {
    const registry = createCollectionRegistry(
      {
        collections: { visit: { conflictStrategy: 'MANUAL' } },
      },
      presetCollections,
    );
    expect(registry.get('visit')).toMatchObject({ access: 'tenant', conflictStrategy: 'MANUAL' });
    expect(registry.get('visit').schema).toBeUndefined();
  });
});
