// The protocol version devices and servers speak. A bump adds one line of history below.
//   1: canonical push/pull (/api/sync, /api/sync/delta), sync tokens, per-change results.
//   2: first-sync snapshot (/api/sync/snapshot) and the Syncline-Schema-Version request header.
//   3: an optional per-change `seq` (the device's outbox sequence): exactly-once past pruning.
//   4: an optional push flag `omitOwnChanges`: the answer leaves out the pushing device's changes.
export const PROTOCOL_VERSION = 4;
