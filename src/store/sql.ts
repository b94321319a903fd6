/**
 * The async store seam (docs/decisions.md, "Postgres: the store seam"): one small interface over SQLite
 * (better-sqlite3, the default) and Postgres (`pg`). Stores write their own SQL with `?` placeholders
 * and ask `dialect` for the few fragments that differ (inList, greatest, skipLocked, forUpdate below). A
 * transaction holds one connection: on SQLite the process's single handle under BEGIN IMMEDIATE, on
 * Postgres one pooled client. Transaction bodies run SQL only, through their `tx`: awaiting anything else
 * (files, HTTP) would hold the SQLite write lock or a Postgres connection that long, and a call on the
 * outer SqlDb from inside waits for the transaction itself on SQLite (a deadlock).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Statement } from 'better-sqlite3';
import pg from 'pg';
import { StoreFailed } from '../errors.js';
import type { Db } from './database.js';

export type Dialect = 'sqlite' | 'postgres';

export interface RunResult {
  changes: number;
}

/** Runs statements: the database itself, or a transaction's connection. */
export interface Sql {
  readonly dialect: Dialect;
  all<T>(sql: string, params?: readonly unknown[]): Promise<T[]>;
  get<T>(sql: string, params?: readonly unknown[]): Promise<T | undefined>;
  run(sql: string, params?: readonly unknown[]): Promise<RunResult>;
}

export interface SqlDb extends Sql {
  /** Runs `fn` in one transaction on one connection; commits when it resolves, rolls back when it throws. */
  transaction<T>(fn: (tx: Sql) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** A FIFO lock: each holder runs after the previous one released. */
export class Mutex {
  private tail: Promise<void> = Promise.resolve();
  async lock(): Promise<() => void> {
    let release!: () => void;
    const next = new Promise<void>((r) => (release = r));
    const prev = this.tail;
    this.tail = prev.then(() => next);
    await prev;
    return release;
  }
}

/** One per database file in this process: see SqliteSql. */
interface FileGate {
  mutex: Mutex;
  open: number;
}
const gates = new Map<string, FileGate>();

function gateFor(db: Db): FileGate {
  // ':memory:' and '' are private to their handle.
  if (db.memory || db.name === '') return { mutex: new Mutex(), open: 0 };
  let g = gates.get(db.name);
  if (!g) {
    g = { mutex: new Mutex(), open: 0 };
    gates.set(db.name, g);
  }
  return g;
}

/**
 * SQLite through the process's better-sqlite3 handle, shared with the stores not yet on the seam. Each
 * call runs synchronously and resolves at once; statements are prepared once per SQL text. Transactions
 * on one file are serialised per process, and a call made outside one while it is open waits for it: a
 * second handle on the same file in this thread would otherwise block the thread in busy_timeout while
 * the transaction it waits for can never resume (a real deadlock, found by the outbox race test).
 */
export class SqliteSql implements SqlDb {
  readonly dialect = 'sqlite' as const;
  private readonly statements = new Map<string, Statement>();
  private readonly gate: FileGate;
  /** Statements inside this process's transaction, which holds the file's gate: a busy one is tried again in place. */
  private readonly tx: Sql = {
    dialect: 'sqlite',
    all: <T>(sql: string, params: readonly unknown[] = []) => waitWhileBusy(() => this.prepare(sql).all(...params) as T[]),
    get: <T>(sql: string, params: readonly unknown[] = []) => waitWhileBusy(() => this.prepare(sql).get(...params) as T | undefined),
    run: (sql: string, params: readonly unknown[] = []) => waitWhileBusy(() => ({ changes: this.prepare(sql).run(...params).changes })),
  };
  /** Statements outside a transaction, tried once: `outside` waits out a busy one (see there). */
  private readonly once: Sql = {
    dialect: 'sqlite',
    all: <T>(sql: string, params: readonly unknown[] = []) => Promise.resolve(this.prepare(sql).all(...params) as T[]),
    get: <T>(sql: string, params: readonly unknown[] = []) => Promise.resolve(this.prepare(sql).get(...params) as T | undefined),
    run: (sql: string, params: readonly unknown[] = []) => Promise.resolve({ changes: this.prepare(sql).run(...params).changes }),
  };

  constructor(readonly db: Db) {
    this.gate = gateFor(db);
    // Waits for another connection's write lock happen in waitWhileBusy, between turns of the event loop.
    // SQLite's own busy handler sleeps the thread in steps of up to 100 ms: on reactor's loop, every
    // write that met the writer thread's lock (job events, leases, a training mark) held all requests.
    if (!db.memory) db.pragma('busy_timeout = 0');
  }

  private prepare(sql: string): Statement {
    let s = this.statements.get(sql);
    if (!s) {
      s = this.db.prepare(sql);
      this.statements.set(sql, s);
    }
    return s;
  }

  /**
   * One statement outside a transaction: at once when none of this process is open on the file, else after
   * it. A statement that finds another connection's lock is tried again from the top after a pause, so it
   * cannot slip into a transaction of this process that began while it waited.
   */
  private outside<T>(f: (q: Sql) => Promise<T>): Promise<T> {
    return waitWhileBusy(async () => {
      if (this.gate.open === 0) return f(this.once);
      const release = await this.gate.mutex.lock();
      try {
        return await f(this.once);
      } finally {
        release();
      }
    });
  }

  all<T>(sql: string, params?: readonly unknown[]): Promise<T[]> {
    return this.outside((q) => q.all<T>(sql, params));
  }

  get<T>(sql: string, params?: readonly unknown[]): Promise<T | undefined> {
    return this.outside((q) => q.get<T>(sql, params));
  }

  run(sql: string, params?: readonly unknown[]): Promise<RunResult> {
    return this.outside((q) => q.run(sql, params));
  }

  async transaction<T>(fn: (tx: Sql) => Promise<T>): Promise<T> {
    this.gate.open++;
    const release = await this.gate.mutex.lock();
    try {
      // IMMEDIATE takes the write lock up front, as better-sqlite3's .immediate() did: a read-then-write
      // transaction cannot fail to upgrade when another process wrote in between.
      await waitWhileBusy(() => this.db.exec('BEGIN IMMEDIATE'));
      try {
        const out = await fn(this.tx);
        await waitWhileBusy(() => this.db.exec('COMMIT'));
        return out;
      } catch (err) {
        if (this.db.inTransaction) this.db.exec('ROLLBACK');
        throw err;
      }
    } finally {
      this.gate.open--;
      release();
    }
  }

  close(): Promise<void> {
    // The handle belongs to whoever opened it (openDatabase); the unconverted stores still use it.
    this.statements.clear();
    return Promise.resolve();
  }
}

/** How long a statement waits in all for another connection's lock before SQLITE_BUSY reaches its caller. */
export const SQLITE_BUSY_WAIT_MS = 10_000;
/** The longest pause between two tries: a lock is held for a transaction's few milliseconds. */
const BUSY_RETRY_MAX_MS = 8;

/** Whether `code` is SQLite's "database is locked" (SQLITE_BUSY and its extended codes). */
export const isSqliteBusy = (code: string): boolean => code.startsWith('SQLITE_BUSY');

function sqliteBusy(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && isSqliteBusy(code);
}

/**
 * Runs `f` (one statement, BEGIN or COMMIT: a busy one had no effect, so trying it again is safe) and,
 * while another connection holds the lock it needs, tries again after 1, 2, 4, 8, 8… ms without holding
 * the thread. No pause when the lock is free.
 */
async function waitWhileBusy<T>(f: () => T | Promise<T>): Promise<T> {
  const deadline = performance.now() + SQLITE_BUSY_WAIT_MS;
  for (let pause = 1; ; pause = Math.min(2 * pause, BUSY_RETRY_MAX_MS)) {
    try {
      return await f();
    } catch (err) {
      if (!sqliteBusy(err) || performance.now() >= deadline) throw err;
    }
    await sleep(pause);
  }
}

/** `?` → `$1, $2, …`. Store SQL never has a `?` inside a literal, so a plain scan is enough. */
export function toPgPlaceholders(sql: string): string {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
}

// int8 (COUNT(*), bigint columns) arrives as a string by default; every such value here (seqs, tokens,
// byte counts, ms timestamps) is far below 2^53.
const INT8_OID = 20;
const types = {
  getTypeParser: ((oid: number, format?: string) =>
    oid === INT8_OID ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
};

class PgQueries implements Sql {
  readonly dialect = 'postgres' as const;
  constructor(private readonly q: pg.Pool | pg.PoolClient) {}

  async all<T>(sql: string, params: readonly unknown[] = []): Promise<T[]> {
    const res = await this.q.query(toPgPlaceholders(sql), params as unknown[]);
    return res.rows as T[];
  }

  async get<T>(sql: string, params: readonly unknown[] = []): Promise<T | undefined> {
    return (await this.all<T>(sql, params))[0];
  }

  async run(sql: string, params: readonly unknown[] = []): Promise<RunResult> {
    // Without parameters pg sends a simple query, which may hold several statements (migrations).
    const res = params.length ? await this.q.query(toPgPlaceholders(sql), params as unknown[]) : await this.q.query(sql);
    return { changes: res.rowCount ?? 0 };
  }
}

export interface PostgresOptions {
  url: string;
  /** Every connection's search_path: a schema of its own (tests). */
  schema?: string;
  /** Pool size. Default 5. */
  max?: number;
  /**
   * How long a connection may sit idle inside a transaction before the server ends it. A process frozen
   * mid-transaction (SIGSTOP, a debugger, a swapped-out laptop) would otherwise hold its row locks for good,
   * and claims that skip locked rows would never see its job again. Default 10 s: no transaction here
   * waits on anything but its own queries.
   */
  idleInTransactionMs?: number;
}

export class PostgresSql extends PgQueries implements SqlDb {
  readonly pool: pg.Pool;

  constructor(o: PostgresOptions) {
    const pool = new pg.Pool({
      connectionString: o.url,
      max: o.max ?? 5,
      types,
      idle_in_transaction_session_timeout: o.idleInTransactionMs ?? 10_000,
      ...(o.schema ? { options: `-c search_path=${o.schema}` } : {}),
    });
    super(pool);
    this.pool = pool;
    // An idle client losing its server must not crash the process; the next query reports it.
    pool.on('error', () => undefined);
  }

  async transaction<T>(fn: (tx: Sql) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    // The pool listens for errors on idle clients only. A session the server ends while this one holds it
    // (the idle-in-transaction timeout after a freeze) must fail the next query, not crash the process.
    let broken: Error | undefined;
    const onError = (err: Error) => (broken = err);
    client.on('error', onError);
    try {
      await client.query('BEGIN');
      try {
        const out = await fn(new PgQueries(client));
        await client.query('COMMIT');
        return out;
      } catch (err) {
        await client.query('ROLLBACK').catch((rollbackErr: Error) => (broken ??= rollbackErr));
        throw err;
      }
    } finally {
      client.removeListener('error', onError);
      // A broken connection is closed, not handed to the next caller.
      client.release(broken);
    }
  }

  close(): Promise<void> {
    return this.end();
  }

  /** Ends the pool once; later calls resolve at once. */
  end(): Promise<void> {
    this.ended ??= this.pool.end();
    return this.ended;
  }
  private ended: Promise<void> | undefined;
}

/** Connects to `url` and checks that it answers; StoreFailed (without the password) when it does not. */
export async function connectPostgres(o: PostgresOptions): Promise<PostgresSql> {
  const db = new PostgresSql(o);
  try {
    await db.get('SELECT 1');
  } catch (err) {
    await db.close().catch(() => undefined);
    throw StoreFailed.with({ cause: err }, `connect to Postgres ${redactUrl(o.url)}: ${(err as Error).message}`);
  }
  return db;
}

export function redactUrl(url: string): string {
  return url.replace(/(\/\/[^:/@]+:)[^@]*@/, '$1********@');
}

/** `column IN (values)` for one array parameter: json_each on SQLite, ANY on Postgres. */
export function inList(d: Dialect, column: string, pgType: 'bigint' | 'text'): string {
  return d === 'postgres' ? `${column} = ANY(?::${pgType}[])` : `${column} IN (SELECT value FROM json_each(?))`;
}

/** The parameter that goes with inList. */
export function listParam(d: Dialect, values: readonly (number | string)[]): unknown {
  return d === 'postgres' ? values : JSON.stringify(values);
}

/** The larger of two values (SQLite's MAX(a, b) is scalar; Postgres calls it GREATEST). */
export function greatest(d: Dialect, a: string, b: string): string {
  return `${d === 'postgres' ? 'GREATEST' : 'MAX'}(${a}, ${b})`;
}

/**
 * Appended to a SELECT that picks rows to claim inside a transaction. On SQLite BEGIN IMMEDIATE already
 * excludes every other writer; on Postgres the rows are locked, and rows another claimer holds are skipped
 * instead of waited for (after its commit they no longer match the claimable condition anyway).
 */
export function skipLocked(d: Dialect): string {
  return d === 'postgres' ? ' FOR UPDATE SKIP LOCKED' : '';
}

/** Appended to a SELECT whose rows a fencing check reads before writing: the check holds until commit. */
export function forUpdate(d: Dialect): string {
  return d === 'postgres' ? ' FOR UPDATE' : '';
}
