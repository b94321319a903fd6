/**
 * Runs one store suite against both databases: SQLite in a temp file, and Postgres in a schema of its own
 * per `fresh()` call, dropped after the file. Postgres is TRINITY_TEST_POSTGRES_URL or the local server
 * (test/helpers/postgres.ts); when it cannot be reached the Postgres half is skipped with the reason, except
 * under CI, where it fails.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe } from 'vitest';
import { openDatabase, type Db } from '../../src/store/database.js';
import { migratePostgres } from '../../src/store/open-sql.js';
import { PostgresSql, SqliteSql, type Dialect, type PostgresOptions, type SqlDb } from '../../src/store/sql.js';
import { POSTGRES_URL, unreachable } from '../helpers/postgres.js';

export { POSTGRES_URL, unreachable };

export interface Fresh {
  db: SqlDb;
  dialect: Dialect;
  /** A second, independent handle on the same database (another process's view); options apply on Postgres. */
  another(options?: Pick<PostgresOptions, 'idleInTransactionMs'>): Promise<SqlDb>;
  /** The SQLite handle behind `db` (SQLite only), for the stores not on the seam yet. */
  sqlite?: Db;
}

/** `suite` declares its tests; each calls `fresh()` for an empty, migrated database. */
export function describeStores(name: string, suite: (fresh: () => Promise<Fresh>, dialect: Dialect) => void): void {
  describe(`${name} [sqlite]`, () => {
    const dirs: string[] = [];
    const handles: Db[] = [];
    afterAll(() => {
      for (const h of handles) h.close();
      for (const d of dirs) rmSync(d, { recursive: true, force: true });
    });
    suite(async () => {
      const dir = mkdtempSync(join(tmpdir(), 'trinity-store-'));
      dirs.push(dir);
      const path = join(dir, 'trinity.db');
      const open = () => {
        const h = openDatabase({ path });
        handles.push(h);
        return h;
      };
      const sqlite = open();
      return { db: new SqliteSql(sqlite), dialect: 'sqlite', sqlite, another: async () => new SqliteSql(open()) };
    }, 'sqlite');
  });

  describe.skipIf(unreachable !== null)(`${name} [postgres]${unreachable ? ` skipped: ${unreachable}` : ''}`, () => {
    const schemas: string[] = [];
    const pools: PostgresSql[] = [];
    afterAll(async () => {
      for (const p of pools) await p.end();
      if (schemas.length === 0) return;
      const admin = new PostgresSql({ url: POSTGRES_URL, max: 1 });
      for (const s of schemas) await admin.run(`DROP SCHEMA IF EXISTS ${s} CASCADE`);
      await admin.close();
    });
    suite(async () => {
      const schema = `trinity_test_${process.pid}_${schemas.length}_${Math.random().toString(36).slice(2, 8)}`;
      schemas.push(schema);
      const open = (options: Pick<PostgresOptions, 'idleInTransactionMs'> = {}) => {
        const p = new PostgresSql({ url: POSTGRES_URL, schema, ...options });
        pools.push(p);
        return p;
      };
      const db = open();
      await db.run(`CREATE SCHEMA ${schema}`);
      await migratePostgres(db);
      return { db, dialect: 'postgres', another: async (options) => open(options) };
    }, 'postgres');
  });
}
