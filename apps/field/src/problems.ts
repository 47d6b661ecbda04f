// Plain words for what the server said about a change: a refusal (the change waits in "failed"
// until retried or discarded) or a conflict it lost or that waits for review, with both versions.
import type { ConflictView, FailedMutation } from '@syncline/client';

export interface Explained {
  title: string;
  detail: string;
}

const typeNames: Record<string, string> = {
  attendance: 'attendance record',
  asset: 'asset',
  task: 'task',
};
const nameOf = (type: string) => typeNames[type] ?? type;

export function explainFailure(failed: FailedMutation): Explained {
  const what = nameOf(failed.type);
  const code = failed.error?.code;
  switch (code) {
    case 'FUTURE_TIMESTAMP':
      return {
        title: 'The server refused a clock time in the future',
        detail:
          'The time is more than 5 minutes ahead of the server’s clock. Check the date and time ' +
          'on this device, then discard this change and clock in again.',
      };
    case 'FORBIDDEN':
    case 'ACCESS_DENIED':
      return {
        title: `Not allowed to change this ${what}`,
        detail: failed.error?.message ?? 'Your token does not give access to it.',
      };
    case 'VALIDATION_FAILED':
    case 'SCHEMA_VIOLATION':
      return {
        title: `The server refused this ${what}`,
        detail: failed.error?.message ?? 'Some of its fields are not valid.',
      };
    default:
      return {
        title: `A change to this ${what} could not be saved on the server`,
        detail: failed.error
          ? `${failed.error.message} (${failed.error.code})`
          : `It failed ${failed.attempts} times; it is kept here until you retry or discard it.`,
      };
  }
}

export function explainConflict(conflict: ConflictView): Explained {
  const what = nameOf(conflict.entityType);
  if (conflict.type === 'TIME_MISMATCH') {
    return {
      title: 'Clock time moved by more than a minute',
      detail: conflict.waitingForReview
        ? 'Your correction differs from the recorded time by more than a minute, so it waits for an admin’s review. Until then the recorded time stands.'
        : 'Your correction differs from the recorded time by more than a minute; the recorded time was kept.',
    };
  }
  if (conflict.waitingForReview) {
    return {
      title: `Your change to this ${what} waits for review`,
      detail: 'It was changed elsewhere at the same time; an admin decides which version stays.',
    };
  }
  if (conflict.resolution === 'SERVER_WINS' || conflict.resolution === null) {
    return {
      title: `Your change to this ${what} lost a conflict`,
      detail:
        'It was changed elsewhere first; the server kept that version. Yours is shown beside it.',
    };
  }
  return {
    title: `Your change to this ${what} met another one`,
    detail: `The server settled it (${conflict.resolution}).`,
  };
}

export interface FieldDifference {
  field: string;
  /** The field's name as the screens show it. */
  label: string;
  yours: unknown;
  kept: unknown;
}

const fieldLabels: Record<string, string> = {
  status: 'Status',
  notes: 'Notes',
  reading: 'Reading',
  inspectedAt: 'Inspected',
  inspectedBy: 'Inspected by',
  title: 'Title',
  name: 'Name',
  site: 'Site',
  facilityId: 'Facility',
  clockIn: 'Clock-in',
  clockOut: 'Clock-out',
  clockInLatitude: 'Clock-in latitude',
  clockInLongitude: 'Clock-in longitude',
  clockOutLatitude: 'Clock-out latitude',
  clockOutLongitude: 'Clock-out longitude',
};
/** The fields a person reads first; the rest follow in name order. */
const fieldOrder = ['status', 'notes', 'reading', 'clockIn', 'clockOut', 'title', 'name'];
const rank = (field: string) => {
  const at = fieldOrder.indexOf(field);
  return at === -1 ? fieldOrder.length : at;
};

/** Fields where the device's version and the server's differ; sync metadata left out. */
export function conflictDifferences(conflict: ConflictView): FieldDifference[] {
  const yours = conflict.clientData ?? {};
  const kept = conflict.serverData ?? {};
  const fields = [...new Set([...Object.keys(yours), ...Object.keys(kept)])].sort(
    (a, b) => rank(a) - rank(b) || a.localeCompare(b),
  );
  return fields
    .filter((field) => JSON.stringify(yours[field]) !== JSON.stringify(kept[field]))
    .map((field) => ({
      field,
      label: fieldLabels[field] ?? field,
      yours: yours[field],
      kept: kept[field],
    }));
}
