// The protocol version devices and servers speak. A bump adds one line of history below.
//   1: canonical push/pull (/api/sync, /api/sync/delta), sync tokens, per-change results.
export const PROTOCOL_VERSION = 1;
