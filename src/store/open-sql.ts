/**
 * Opens the store seam (sql.ts) for a service: SQLite over the process's handle by default, Postgres when
 * TRINITY_DATABASE_URL names one, with the same numbered migrations applied to either.
 */
import { ConfigInvalid } from '../errors.js';
import type { Db } from './database.js';
import { migrations } from './migrations.js';
import { connectPostgres, redactUrl, SqliteSql, type PostgresSql, type SqlDb } from './sql.js';

/** Serialises migrating processes on one Postgres database (any constant; this one spells "trin"). */
const MIGRATION_LOCK = 0x7472696e;

/**
 * Applies every Postgres migration above the recorded version, each in its own transaction under an
 * advisory lock, so two services starting together apply each migration once. Returns the version.
 */
export async function migratePostgres(db: PostgresSql): Promise<number> {
  let version = 0;
  for (const m of migrations) {
    await db.transaction(async (tx) => {
      await tx.get('SELECT pg_advisory_xact_lock(?)', [MIGRATION_LOCK]);
      await tx.run(`CREATE TABLE IF NOT EXISTS trinity_schema (
        version bigint PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
      const row = await tx.get<{ v: number | null }>('SELECT MAX(version) AS v FROM trinity_schema');
      version = row?.v ?? 0;
      if (version >= m.version) return;
      await tx.run(m.pg);
      await tx.run('INSERT INTO trinity_schema (version, name) VALUES (?, ?)', [m.version, m.name]);
      version = m.version;
    });
  }
  return version;
}

export async function postgresSchemaVersion(db: SqlDb): Promise<number> {
  const row = await db.get<{ v: number | null }>('SELECT MAX(version) AS v FROM trinity_schema');
  return row?.v ?? 0;
}

export interface SeamOptions {
  /** TRINITY_DATABASE_URL; undefined: SQLite. */
  databaseUrl: string | undefined;
  /** Postgres only: see PostgresOptions.idleInTransactionMs. */
  idleInTransactionMs?: number;
  /** Opens the SQLite handle (openDatabase, which migrates it); called only when there is no URL. */
  sqlite: () => Db;
}

/** The seam for a service: on Postgres it connects and applies the migrations it is missing first. */
export async function openSqlDb(o: SeamOptions): Promise<SqlDb> {
  return o.databaseUrl === undefined ? new SqliteSql(o.sqlite()) : openPostgres(o.databaseUrl, o.idleInTransactionMs);
}

async function openPostgres(url: string, idleInTransactionMs: number | undefined): Promise<PostgresSql> {
  if (!/^postgres(ql)?:\/\//.test(url)) {
    throw ConfigInvalid(`TRINITY_DATABASE_URL must be a postgres:// URL (got ${redactUrl(url)}); leave it unset for SQLite`);
  }
  const db = await connectPostgres({ url, idleInTransactionMs });
  try {
    await migratePostgres(db);
  } catch (err) {
    await db.close().catch(() => undefined);
    throw err;
  }
  return db;
}
