// The JSON of a delta page and of a push's answer as the UTF-8 bytes sent, their feed changes
// spliced in as the store wrote them (spliceJson): a page of stored payloads is not parsed and
// written out again. Keys follow the protocol's response schemas; results and conflicts, which
// are small and carry no stored JSON, go through the route's own schema serializer.
import type { ChangeResult, Conflict } from '@syncline/protocol';
import { spliceJson } from '../engine/change-json.js';
import type { DeltaPage, PushPage } from '../engine/engine-api.js';

const tokenJson = (token: string | null): string =>
  token === null ? 'null' : JSON.stringify(token);

/** A DeltaResponse as JSON, in UTF-8. */
export function deltaPageJson(page: DeltaPage): Buffer {
  return spliceJson(
    '{"changes":[',
    page.changes,
    `],"nextPageToken":${tokenJson(page.nextPageToken)},` +
      `"hasMore":${page.hasMore === true},` +
      `"syncToken":${JSON.stringify(page.syncToken)}` +
      (page.reset === true ? ',"reset":true}' : '}'),
  );
}

export interface PushPartsSerializer {
  results(results: ChangeResult[]): string;
  conflicts(conflicts: Conflict[]): string;
}

/** A PushResponse as JSON, in UTF-8. */
export function pushPageJson(page: PushPage, serialize: PushPartsSerializer): Buffer {
  return spliceJson(
    `{"syncToken":${JSON.stringify(page.syncToken)},"changes":[`,
    page.changes,
    `],"hasMore":${page.hasMore === true},` +
      (page.reset === true ? '"reset":true,' : '') +
      `"results":${serialize.results(page.results)},` +
      `"conflicts":${serialize.conflicts(page.conflicts)},` +
      `"serverTime":${JSON.stringify(page.serverTime)}}`,
  );
}
