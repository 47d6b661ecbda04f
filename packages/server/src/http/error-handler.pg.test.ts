// PostgreSQL's data errors (class 22: a NUL in text, a number past bigint) answer 400 when one
// gets past validation, as real driver errors; other database errors stay a 500.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pgSkipReason, testPgUrl } from '../testing/env.js';
import { toRefusal } from './error-handler.js';

describe.skipIf(!testPgUrl)(
  testPgUrl ? 'PostgreSQL' : `PostgreSQL (skipped: ${pgSkipReason})`,
  () => {
    let client: pg.Client;
    beforeAll(async () => {
      client = new pg.Client({ connectionString: testPgUrl });
      await client.connect();
    });
    afterAll(() => client.end());

    async function refusalOf(sql: string, values: unknown[]) {
      try {
        await client.query(sql, values);
      } catch (error) {
        return { sqlstate: (error as { code?: string }).code, ...toRefusal(error) };
      }
      throw new Error(`expected ${sql} to fail`);
    }

    it('maps 22021 (NUL in text) and 22003 (out of range) to 400', async () => {
      expect(await refusalOf('SELECT $1::text', ['a\u0000b'])).toMatchObject({
        sqlstate: '22021',
        status: 400,
        body: { code: 'VALIDATION_FAILED' },
      });
      expect(await refusalOf('SELECT $1::bigint', ['100000000000000000000'])).toMatchObject({
        sqlstate: '22003',
        status: 400,
      });
    });

    it('keeps a 500 for errors that are not about a value', async () => {
      expect(await refusalOf('SELECT no_such_column FROM pg_class', [])).toMatchObject({
        sqlstate: '42703',
        status: 500,
        body: { code: 'INTERNAL' },
      });
    });
  },
);
