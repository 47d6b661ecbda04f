export * from './schemas.js';
export * from './errors.js';
export * from './version.js';
export * from './canonical-json.js';
export * from './merge-patch.js';
export * from './sync-token.js';
export * from './retry-after.js';
export * from './json-inspection.js';
