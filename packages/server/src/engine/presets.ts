// Preset collections for the seeds' entity types. Schemas name the fields the seeds document and
// stay open to others, so the seeds' clients work unchanged; a config can override any of them.
import type { CollectionConfig } from './collections.js';

const str = { type: 'string' } as const;
const num = { type: 'number' } as const;
const time = { type: 'string', format: 'date-time' } as const;
const nullable = <T extends object>(schema: T) => ({ anyOf: [schema, { type: 'null' }] });

const open = (properties: Record<string, unknown>, required: string[] = []) => ({
  type: 'object',
  properties,
  required,
  additionalProperties: true,
});

export const presetCollections: Record<string, CollectionConfig> = {
  // Seed 000: clock-in/out, visible to its creator and admins; clock times moved by more than a
  // minute are a TIME_MISMATCH. Where tokens carry a `facilities` claim, a config can add seed 000's
  // facility check: access: ['owner', { field: 'facilityId', claim: 'facilities' }].
  attendance: {
    schema: open({
      facilityId: str,
      clockIn: nullable(time),
      clockOut: nullable(time),
      clockInLatitude: nullable(num),
      clockInLongitude: nullable(num),
      clockOutLatitude: nullable(num),
      clockOutLongitude: nullable(num),
      deviceId: str,
      clientTimestamp: time,
    }),
    access: 'owner',
    timeDetector: { fields: ['clockIn', 'clockOut'], toleranceMs: 60_000 },
  },
  // Seed 001: rural healthcare.
  encounter: { schema: open({ patientId: str, facilityId: str, notes: str }) },
  patient: { schema: open({ name: str, facilityId: str }) },
  // Seed 002: asset manager.
  asset: { schema: open({ name: str, status: str }) },
  task: { schema: open({ title: str, status: str, assetId: str }) },
  schedule: { schema: open({ taskId: str, dueAt: nullable(time) }) },
  // Seed 003: point of sale.
  sale: { schema: open({ total: num, currency: str }) },
  expense: { schema: open({ amount: num, category: str }) },
  record: { schema: open({}) },
  payment: { schema: open({ amount: num, currency: str }) },
  stock_adjustment: { schema: open({ productId: str, quantity: num }) },
  // Seed 004: PayTrack.
  supplier: { schema: open({ name: str }) },
  product: { schema: open({ name: str, unit: str }) },
  rate: { schema: open({ productId: str, price: num }) },
  collection: { schema: open({ supplierId: str, productId: str, quantity: num }) },
};
