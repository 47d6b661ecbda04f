// Exactly-once past pruning and a savepoint per change, on SQLite.
import { createSqliteSyncStore } from '../store/index.js';
import { runPushExactlyOnceSuite } from '../testing/push-exactly-once-suite.js';

runPushExactlyOnceSuite('SQLite', () => createSqliteSyncStore({ file: ':memory:' }));
