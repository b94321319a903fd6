/** Small helpers for stores on the async seam (sql.ts). */
import { StoreFailed, TrinityError } from '../errors.js';
import type { Sql, SqlDb } from './sql.js';

/**
 * For stores built over either the database (SqlDb) or a transaction's connection (the `tx` of
 * SqlDb.transaction): a multi-statement write opens a transaction of its own on the first and joins the
 * caller's on the second, so several stores bound to one `tx` commit together.
 */
export function joinTransaction<T>(q: Sql | SqlDb, fn: (tx: Sql) => Promise<T>): Promise<T> {
  return 'transaction' in q ? q.transaction(fn) : fn(q);
}

/** Driver errors get the project's code (`<what>: <message>`), with the original kept as cause. */
export async function storeCall<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof TrinityError) throw err;
    throw StoreFailed.with({ cause: err }, `${what}: ${(err as Error).message}`);
  }
}
