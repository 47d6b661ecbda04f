// A server change written straight as JSON text, its payload spliced in as the store holds it.
// A first sync sends a million stored payloads: parsing each one only to write it out again was
// most of the server's work. The stored text is JSON.stringify output of a validated payload
// (the stores write nothing else into the column), so it is one JSON value and splices safely.
import type { ServerChange } from '@syncline/protocol';

/** A server change whose payload is still JSON text (null for none). */
export type StoredChange = Omit<ServerChange, 'payload'> & {
  payloadJson: string | null;
};

const text = (value: string | null): string => (value === null ? 'null' : JSON.stringify(value));

/** The change as the JSON object the protocol's serverChangeSchema describes, in its key order. */
export function changeJson(change: StoredChange): string {
  return (
    `{"entityType":${JSON.stringify(change.entityType)},` +
    `"entityId":${JSON.stringify(change.entityId)},` +
    `"operation":"${change.operation}",` +
    `"payload":${change.payloadJson ?? 'null'},` +
    `"version":${integer(change.version)},` +
    `"clientVersion":${integer(change.clientVersion)},` +
    `"timestamp":${JSON.stringify(change.timestamp)},` +
    `"updatedBy":${JSON.stringify(change.updatedBy)},` +
    `"deviceId":${text(change.deviceId)},` +
    `"checksum":${text(change.checksum)},` +
    `"deletedAt":${text(change.deletedAt)},` +
    `"seq":${integer(change.seq)}` +
    (change.revoked ? ',"revoked":true}' : '}')
  );
}

/** Integers only: anything else would write invalid JSON (NaN) or a value the schema refuses. */
function integer(value: number): string {
  if (!Number.isSafeInteger(value)) throw new TypeError(`Not an integer: ${value}`);
  return String(value);
}

/**
 * `head`, the items joined by commas, then `tail`, written as UTF-8 into one buffer. A page's
 * thousand changes are copied once, into the bytes that go out: joining them into a string first
 * and encoding that cost about three times as much (and a string as big as the page to collect).
 */
export function spliceJson(head: string, items: readonly string[], tail: string): Buffer {
  let size = Buffer.byteLength(head) + Buffer.byteLength(tail) + items.length;
  for (const item of items) size += Buffer.byteLength(item);
  const bytes = Buffer.allocUnsafe(size);
  let at = bytes.write(head, 0);
  for (let i = 0; i < items.length; i++) {
    if (i > 0) at = bytes.writeUInt8(0x2c, at); // ','
    at += bytes.write(items[i] as string, at);
  }
  at += bytes.write(tail, at);
  return bytes.subarray(0, at);
}
