/**
 * Postgres for tests: the server's URL (TRINITY_TEST_POSTGRES_URL or the local server), whether it answers,
 * and fresh databases for tests that start real service processes with TRINITY_DATABASE_URL. An
 * unreachable server skips those tests with the reason, except under CI, where it fails.
 */
import pg from 'pg';
import { tempHome } from './processes.js';

export const POSTGRES_URL = process.env.TRINITY_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

async function probe(): Promise<string | null> {
  const c = new pg.Client({ connectionString: POSTGRES_URL, connectionTimeoutMillis: 3_000 });
  try {
    await c.connect();
    await c.query('SELECT 1');
    return null;
  } catch (err) {
    return `Postgres at ${POSTGRES_URL} unreachable (${(err as Error).message}); start it or set TRINITY_TEST_POSTGRES_URL`;
  } finally {
    await c.end().catch(() => undefined);
  }
}

/** Why Postgres tests cannot run here, or null when they can. */
export const unreachable = await probe();
if (unreachable && process.env.CI) throw new Error(`${unreachable}: CI must run the Postgres half of the store suites`);

async function admin<T>(f: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: POSTGRES_URL });
  await c.connect();
  try {
    return await f(c);
  } finally {
    await c.end();
  }
}

export interface FreshDatabase {
  /** TRINITY_DATABASE_URL for the services under test. */
  url: string;
  /** Drops the database (after the services using it have stopped). */
  drop(): Promise<void>;
}

/** An empty database of its own on the test server; the services migrate it when they start. */
export async function freshDatabase(prefix = 'trinity_e2e'): Promise<FreshDatabase> {
  const name = `${prefix}_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
  await admin((c) => c.query(`CREATE DATABASE ${name}`));
  const url = new URL(POSTGRES_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: () => admin((c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(() => undefined),
  };
}

export type StoreName = 'sqlite' | 'postgres';

/** The stores an end-to-end suite runs on: SQLite, and Postgres when it answers (always under CI). */
export const E2E_STORES: readonly { name: StoreName; skip: string | null }[] = [
  { name: 'sqlite', skip: null },
  { name: 'postgres', skip: unreachable },
];

export interface ServiceStore {
  /** Environment every service process of the suite gets (TRINITY_DATABASE_URL on Postgres). */
  env: Record<string, string>;
  /**
   * A JARVIS_HOME for one more service process. On SQLite every process shares the first (one database
   * file); on Postgres each has its own, as on separate machines: only the database and
   * TRINITY_ARTIFACT_DIR are shared.
   */
  home(): string;
  close(): Promise<void>;
}

/** A database for a suite of real service processes; `close` drops it (after they stopped). */
export async function serviceStore(name: StoreName, prefix: string): Promise<ServiceStore> {
  if (name === 'sqlite') {
    const home = tempHome(prefix);
    return { env: {}, home: () => home, close: async () => undefined };
  }
  const db = await freshDatabase();
  return { env: { TRINITY_DATABASE_URL: db.url }, home: () => tempHome(prefix), close: () => db.drop() };
}
