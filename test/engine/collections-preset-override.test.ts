// A config entry for a preset's type overrides only the settings it names.
import { describe, expect, it } from 'vitest';
import { createCollectionRegistry } from '../../packages/server/src/engine/collections.js';

describe('config over presets', () => {
  it('adds seed 000’s facility rule to attendance and keeps its schema and time detector', () => {
    const access = ['owner' as const, { field: 'facilityId', claim: 'facilities' }];
    const registry = createCollectionRegistry({ collections: { attendance: { access } } });
    const attendance = registry.get('attendance');
    expect(attendance.access).toEqual(access);
    expect(attendance.timeDetector).toEqual({
      fields: ['clockIn', 'clockOut'],
      toleranceMs: 60_000,
    });
    expect(attendance.schema).toBeDefined();
    expect(registry.claimNames()).toEqual(['facilities']);
  });

  it('leaves types the presets do not name as the config gives them', () => {
    const registry = createCollectionRegistry({
      collections: { visit: { conflictStrategy: 'MANUAL' } },
    });
    expect(registry.get('visit')).toMatchObject({ access: 'tenant', conflictStrategy: 'MANUAL' });
    expect(registry.get('visit').schema).toBeUndefined();
  });
});
