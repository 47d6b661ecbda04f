// Exactly-once past pruning and a savepoint per change, on SQLite.
import { createSqliteSyncStore } from '../../packages/server/src/store/index.js';
import { runPushExactlyOnceSuite } from '../../packages/server/src/testing/push-exactly-once-suite.js';

runPushExactlyOnceSuite('SQLite', () => createSqliteSyncStore({ file: ':memory:' }));
