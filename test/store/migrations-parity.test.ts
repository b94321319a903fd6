import { expect, it } from 'vitest';
import { migrations } from '../../src/store/migrations.js';
import { migratePostgres, postgresSchemaVersion } from '../../src/store/open-sql.js';
import { openDatabase, schemaVersion } from '../../src/store/database.js';
import { SqliteSql, type PostgresSql, type SqlDb } from '../../src/store/sql.js';
import { describeStores } from './harness.js';

interface Column {
  table: string;
  column: string;
  type: 'text' | 'integer' | 'real';
  notNull: boolean;
}

const SQLITE_TYPES: Record<string, Column['type']> = { TEXT: 'text', INTEGER: 'integer', REAL: 'real' };
const PG_TYPES: Record<string, Column['type']> = { text: 'text', bigint: 'integer', 'double precision': 'real' };

/** Every table's columns with a portable type, in one order. */
async function columns(db: SqlDb): Promise<Column[]> {
  let out: Column[];
  if (db.dialect === 'sqlite') {
    const rows = await db.all<{ t: string; c: string; type: string; nn: number; pk: number }>(
      `SELECT m.name AS t, p.name AS c, p.type AS type, p."notnull" AS nn, p.pk AS pk FROM sqlite_master m, pragma_table_info(m.name) p
       WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%'`,
    );
    // A PRIMARY KEY column is NOT NULL on Postgres; on SQLite only INTEGER PRIMARY KEY is, unless declared.
    out = rows.map((r) => ({ table: r.t, column: r.c, type: SQLITE_TYPES[r.type] ?? (r.type as Column['type']), notNull: r.nn === 1 || r.pk > 0 }));
  } else {
    const rows = await db.all<{ t: string; c: string; type: string; nullable: string }>(
      `SELECT table_name AS t, column_name AS c, data_type AS type, is_nullable AS nullable FROM information_schema.columns
       WHERE table_schema = current_schema() AND table_name <> 'trinity_schema'`,
    );
    // rowid: the explicit stand-in for SQLite's implicit rowid (jobs, deployments break ties on it).
    out = rows.filter((r) => r.c !== 'rowid').map((r) => ({ table: r.t, column: r.c, type: PG_TYPES[r.type] ?? (r.type as Column['type']), notNull: r.nullable === 'NO' }));
  }
  return out.sort((a, b) => a.table.localeCompare(b.table) || a.column.localeCompare(b.column));
}

describeStores('migrations', (fresh, dialect) => {
  it('end at the last version with every table and column of SQLite version 7, typed alike', async () => {
    const { db, sqlite } = await fresh();
    if (dialect === 'sqlite') expect(schemaVersion(sqlite!)).toBe(migrations.length);
    else expect(await postgresSchemaVersion(db)).toBe(migrations.length);
    const cols = await columns(db);
    expect(cols.length).toBeGreaterThan(100);
    expect(new Set(cols.map((c) => c.table)).size).toBe(20);
    for (const c of cols) expect(['text', 'integer', 'real'], `${c.table}.${c.column}`).toContain(c.type);
    if (dialect === 'postgres') expect(cols).toEqual(await columns(new SqliteSql(openDatabase({ path: ':memory:' }))));
  });

  it('have the same named indexes (the ones a migration creates; keys are compared with the columns)', async () => {
    const { db } = await fresh();
    const names = async (d: SqlDb) =>
      (d.dialect === 'sqlite'
        ? await d.all<{ n: string }>("SELECT name AS n FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL")
        : await d.all<{ n: string }>("SELECT indexname AS n FROM pg_indexes WHERE schemaname = current_schema() AND indexname NOT LIKE '%\\_pkey' AND indexname NOT LIKE '%\\_key'")
      )
        .map((r) => r.n)
        .sort();
    const mine = await names(db);
    expect(mine).toContain('deployments_one_active');
    expect(mine).toEqual(await names(new SqliteSql(openDatabase({ path: ':memory:' }))));
  });

  if (dialect === 'postgres') {
    it('applies each migration once, however many processes start together', async () => {
      const { db, another } = await fresh();
      const others = (await Promise.all([another(), another(), another()])) as PostgresSql[];
      const versions = await Promise.all(others.map((o) => migratePostgres(o)));
      expect(versions).toEqual([migrations.length, migrations.length, migrations.length]);
      const rows = await db.all<{ version: number }>('SELECT version FROM trinity_schema ORDER BY version');
      expect(rows.map((r) => r.version)).toEqual(migrations.map((m) => m.version));
    });

    it('gives jobs and deployments an increasing rowid for the ties SQLite breaks on its implicit one', async () => {
      const { db } = await fresh();
      for (const id of ['b', 'a', 'c']) await db.run(`INSERT INTO jobs (job_id, model_type, status, request, total_epochs, created_at) VALUES (?, 'nlu', 'queued', '{}', 1, 5)`, [id]);
      const rows = await db.all<{ job_id: string }>("SELECT job_id FROM jobs WHERE status = 'queued' ORDER BY created_at, rowid");
      expect(rows.map((r) => r.job_id)).toEqual(['b', 'a', 'c']);
    });
  }
});
