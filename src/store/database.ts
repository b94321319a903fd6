/**
 * The SQLite database: opening, pragmas, numbered migrations and transactions. Each folder keeps the
 * statements of its own tables next to its code (experiences/experiences-store.ts, training/jobs-store.ts,
 * …) and reaches the driver only through the Db handle opened here; src/store imports nothing from them.
 */
import Database from 'better-sqlite3';
import { chmodSync, existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { StoreFailed } from '../errors.js';
import { migrations } from './migrations.js';

export type Db = Database.Database;

export interface OpenOptions {
  /** File path, or ':memory:' for tests. */
  path: string;
  readonly?: boolean;
}

/** Opens the database, applies pending migrations and returns the handle. */
export function openDatabase({ path, readonly = false }: OpenOptions): Db {
  if (path !== ':memory:') {
    const dir = dirname(path);
    if (!existsSync(dir)) mkdirSync(dir, { recursive: true, mode: 0o700 });
  }
  let db: Db;
  try {
    db = new Database(path, { readonly });
  } catch (err) {
    throw StoreFailed.with({ cause: err }, `open ${path}: ${(err as Error).message}`);
  }
  if (path !== ':memory:' && !readonly) {
    chmodSync(path, 0o600);
  }
  db.pragma('journal_mode = WAL');
  // NORMAL is durable across process crashes in WAL mode (only an OS crash can lose the last commit).
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 10000');
  db.pragma('foreign_keys = ON');
  if (!readonly) migrate(db);
  return db;
}

/** Applies every migration whose number is above `user_version`, each in its own transaction. */
export function migrate(db: Db): number {
  const current = db.pragma('user_version', { simple: true }) as number;
  let version = current;
  for (const m of migrations) {
    if (m.version <= version) continue;
    db.transaction(() => {
      // Read again under the write lock: another process sharing the file (reactor and jarvis open the
      // same trinity.db) may have applied this migration since the read above.
      if ((db.pragma('user_version', { simple: true }) as number) >= m.version) return;
      db.exec(m.sql);
      db.pragma(`user_version = ${m.version}`);
    }).immediate();
    version = m.version;
  }
  return version;
}

export function schemaVersion(db: Db): number {
  return db.pragma('user_version', { simple: true }) as number;
}
