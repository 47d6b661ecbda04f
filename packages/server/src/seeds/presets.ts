// Preset collections for the seeds' entity types. Schemas name the fields the seeds document and
// stay open to others, so the seeds' clients work unchanged; a config can override any of them.
import type { CollectionConfig } from '../engine/collections.js';

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
  // Seed 000: clock-in/out, visible to its creator and admins, at a facility listed in the token's
  // `facilities` claim ("Verify user has access to facility"); clock times moved by more than a
  // minute are a TIME_MISMATCH; clock times in the future are refused ("Reject records with
  // future timestamps"). A config opts out with access: 'owner' or notInFuture: [].
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
    access: ['owner', { field: 'facilityId', claim: 'facilities' }],
    timeDetector: { fields: ['clockIn', 'clockOut'], toleranceMs: 60_000 },
    notInFuture: ['clockIn', 'clockOut', 'clientTimestamp'],
  },
  // Seed 001: rural healthcare. CLIENT_WINS (offline data over the server's) needs an admin.
  encounter: {
    schema: open({ patientId: str, facilityId: str, notes: str }),
    clientWinsAdminOnly: true,
  },
  patient: { schema: open({ name: str, facilityId: str }), clientWinsAdminOnly: true },
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
