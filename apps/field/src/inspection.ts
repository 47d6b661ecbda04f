// Seed 002's asset inspection on the device: the statuses an inspector chooses from, and the
// patch an inspection writes (status, notes, a reading, when and by whom).

export interface Asset {
  name: string;
  status: string;
  notes?: string;
  reading?: number | null;
  site?: string;
  inspectedAt?: string;
  inspectedBy?: string;
}

export interface Task {
  title: string;
  status: string;
  assetId: string;
}

export const inspectionStatuses = {
  ok: 'OK',
  attention: 'Needs attention',
  repair: 'In repair',
  out_of_service: 'Out of service',
} as const;

export const statusLabel = (status: string) =>
  (inspectionStatuses as Record<string, string>)[status] ?? status;

export const statusTone = (status: string) =>
  status === 'ok' ? 'good' : status === 'out_of_service' ? 'bad' : status ? 'warn' : '';

export interface InspectionInput {
  status: string;
  notes: string;
  /** As typed: '' for no reading. */
  reading: string;
}

export type InspectionProblem = 'NO_STATUS' | 'BAD_READING' | 'NOTES_TOO_LONG';

export const inspectionMessages: Record<InspectionProblem, string> = {
  NO_STATUS: 'Choose a status.',
  BAD_READING: 'The reading must be a number, such as 12.5.',
  NOTES_TOO_LONG: 'Notes are limited to 2,000 characters.',
};

export function inspectionPatch(
  input: InspectionInput,
  by: string,
  now: Date,
): { patch: Partial<Asset> } | { problem: InspectionProblem } {
  if (input.status.trim() === '') return { problem: 'NO_STATUS' };
  if (input.notes.length > 2000) return { problem: 'NOTES_TOO_LONG' };
  const text = input.reading.trim().replace(',', '.');
  const reading = text === '' ? null : Number(text);
  if (reading !== null && !Number.isFinite(reading)) return { problem: 'BAD_READING' };
  return {
    patch: {
      status: input.status,
      notes: input.notes.trim(),
      reading,
      inspectedAt: now.toISOString(),
      inspectedBy: by,
    },
  };
}
