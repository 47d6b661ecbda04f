// The JSON text of a delta page and of a push's answer, their feed changes spliced in as the
// engine wrote them (change-json.ts): a page of stored payloads is not parsed and written out
// again. Keys follow the protocol's response schemas; results and conflicts, which are small and
// carry no stored JSON, go through the route's own schema serializer.
import type { ChangeResult, Conflict } from '@syncline/protocol';
import type { DeltaPage, PushPage } from '../engine/engine-api.js';

const tokenJson = (token: string | null): string =>
  token === null ? 'null' : JSON.stringify(token);

/** A DeltaResponse as JSON text. */
export function deltaPageJson(page: DeltaPage): string {
  return (
    `{"changes":[${page.changes.join(',')}],` +
    `"nextPageToken":${tokenJson(page.nextPageToken)},` +
    `"hasMore":${page.hasMore === true},` +
    `"syncToken":${JSON.stringify(page.syncToken)}` +
    (page.reset === true ? ',"reset":true}' : '}')
  );
}

export interface PushPartsSerializer {
  results(results: ChangeResult[]): string;
  conflicts(conflicts: Conflict[]): string;
}

/** A PushResponse as JSON text. */
export function pushPageJson(page: PushPage, serialize: PushPartsSerializer): string {
  return (
    `{"syncToken":${JSON.stringify(page.syncToken)},` +
    `"changes":[${page.changes.join(',')}],` +
    `"hasMore":${page.hasMore === true},` +
    (page.reset === true ? '"reset":true,' : '') +
    `"results":${serialize.results(page.results)},` +
    `"conflicts":${serialize.conflicts(page.conflicts)},` +
    `"serverTime":${JSON.stringify(page.serverTime)}}`
  );
}
