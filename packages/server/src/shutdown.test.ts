// The shutdown sequence runs by phase, then in the order steps were added; a failing step is
// reported and the rest still run (the store closes whatever failed before it).
import { describe, expect, it } from 'vitest';
import { createShutdownSequence } from './shutdown.js';

describe('shutdown sequence', () => {
  it('runs phases in order, steps of a phase in the order added, each once', async () => {
    const ran: string[] = [];
    const shutdown = createShutdownSequence();
    shutdown.add('release', 'store', () => void ran.push('store'));
    shutdown.add('drain', 'http', async () => {
      await new Promise((resolve) => setTimeout(resolve, 5));
      ran.push('http');
    });
    shutdown.add('stop-workers', 'jobs', () => void ran.push('jobs'));
    shutdown.add('stop-accepting', 'readiness', () => void ran.push('readiness'));
    shutdown.add('release', 'redis', () => void ran.push('redis'));
    const first = shutdown.run();
    expect(shutdown.run()).toBe(first);
    await expect(first).resolves.toBe(true);
    expect(ran).toEqual(['readiness', 'http', 'jobs', 'store', 'redis']);
    expect(() => shutdown.add('release', 'late', () => undefined)).toThrow();
  });

  it('goes on past a failing step and reports the failure', async () => {
    const ran: string[] = [];
    const errors: object[] = [];
    const shutdown = createShutdownSequence({
      info: () => undefined,
      warn: () => undefined,
      error: (obj) => void errors.push(obj),
    });
    shutdown.add('drain', 'http', () => {
      throw new Error('boom');
    });
    shutdown.add('release', 'store', () => void ran.push('store'));
    await expect(shutdown.run()).resolves.toBe(false);
    expect(ran).toEqual(['store']);
    expect(errors).toEqual([expect.objectContaining({ step: 'http' })]);
  });
});
