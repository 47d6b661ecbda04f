// WAL checkpoints off the event loop. In WAL mode every commit appends to the log, and whichever
// commit crosses `wal_autocheckpoint` pages copies the log back into the database file and fsyncs
// it, on the serving thread, inside that request. Here a worker thread with a connection of its
// own runs PASSIVE checkpoints every `intervalMs` instead: they wait for nobody and block nobody
// (readers and the writer go on meanwhile), on the second core. The serving connection keeps a
// high `wal_autocheckpoint` as a backstop, so the log stays bounded should the worker fall behind.
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/** Pages the serving connection lets the log grow to before it checkpoints itself. */
export const backstopCheckpointPages = 10_000;

export interface WalCheckpointer {
  /** Stops the worker (its last checkpoint finishes first); the process never waits on it. */
  stop(): void;
}

// CommonJS for `eval`: the worker is this small loop, with better-sqlite3 resolved by the parent.
const workerSource = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.file, { fileMustExist: true });
db.pragma('busy_timeout = 0');
const timer = setInterval(() => {
  try { db.pragma('wal_checkpoint(PASSIVE)'); } catch { /* busy or closing: next turn */ }
}, workerData.intervalMs);
parentPort.on('message', () => {
  clearInterval(timer);
  db.close();
  process.exit(0);
});
`;

export function startWalCheckpointer(file: string, intervalMs = 250): WalCheckpointer {
  const driver = createRequire(import.meta.url).resolve('better-sqlite3');
  const worker = new Worker(workerSource, {
    eval: true,
    workerData: { file, driver, intervalMs },
    // A loop that allocates next to nothing: a small heap keeps the thread's memory small.
    resourceLimits: { maxYoungGenerationSizeMb: 1, maxOldGenerationSizeMb: 16 },
  });
  // A checkpointer never keeps a process alive, and its failure only brings the backstop back.
  worker.unref();
  worker.on('error', () => undefined);
  return {
    stop: () => worker.postMessage('stop'),
  };
}
