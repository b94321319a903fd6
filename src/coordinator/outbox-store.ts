/**
 * JARVIS's experience outbox (migration 3): experiences collected over HTTP wait here until a file with
 * them is in trinity/events/. A writer claims a batch for a while, writes the file, then deletes the rows;
 * if it dies in between the claim runs out and the batch goes again (reactor ignores the repeat: an
 * experience's identity is its id or content hash). Only this file knows the outbox SQL.
 */
import { greatest, inList, listParam, skipLocked, type SqlDb } from '../store/sql.js';

export interface OutboxItem {
  modelType: string;
  /** The experience as JSON text, stored as received. */
  body: string;
}

export interface OutboxBatch {
  modelType: string;
  claimer: string;
  seqs: number[];
  /** JSON texts, oldest first. */
  bodies: string[];
  bytes: number;
  /** Milliseconds since the epoch, unique per model type across processes: the file's `<ts>`. */
  fileTs: number;
}

export interface PendingByType {
  modelType: string;
  count: number;
  /** Unix seconds of the oldest pending experience. */
  oldest: number;
}

export interface ForwardedStats {
  experiences: number;
  bytes: number;
  files: number;
}

/** On the async store seam (src/store/sql.ts): the same statements on SQLite and Postgres. */
export class OutboxStore {
  constructor(private readonly db: SqlDb) {}

  /** Stores experiences durably (one transaction: all or none). */
  async add(items: OutboxItem[], now: number): Promise<number> {
    if (this.db.dialect === 'postgres') {
      // One statement for the lot: a round trip per row cost 24 ms per 100 rows on a local server.
      await this.db.run(
        `INSERT INTO experience_outbox (model_type, body, bytes, created_at)
        SELECT t, b, n, ? FROM unnest(?::text[], ?::text[], ?::bigint[]) AS u(t, b, n)`,
        [now, items.map((i) => i.modelType), items.map((i) => i.body), items.map((i) => Buffer.byteLength(i.body))],
      );
      return items.length;
    }
    await this.db.transaction(async (tx) => {
      for (const it of items) {
        await tx.run('INSERT INTO experience_outbox (model_type, body, bytes, created_at) VALUES (?, ?, ?, ?)', [it.modelType, it.body, Buffer.byteLength(it.body), now]);
      }
    });
    return items.length;
  }

  pendingByType(): Promise<PendingByType[]> {
    return this.db.all<PendingByType>(`SELECT model_type AS "modelType", COUNT(*) AS count, MIN(created_at) AS oldest
      FROM experience_outbox GROUP BY model_type ORDER BY model_type`);
  }

  async pendingTotal(): Promise<number> {
    return (await this.db.get<{ n: number }>('SELECT COUNT(*) AS n FROM experience_outbox'))?.n ?? 0;
  }

  /** Claims up to `limit` unclaimed experiences of a type for `claimSeconds`; null when there are none. */
  claim(modelType: string, claimer: string, limit: number, claimSeconds: number, nowSeconds: number): Promise<OutboxBatch | null> {
    const d = this.db.dialect;
    return this.db.transaction(async (tx): Promise<OutboxBatch | null> => {
      const rows = await tx.all<{ seq: number; body: string; bytes: number }>(
        `SELECT seq, body, bytes FROM experience_outbox
        WHERE model_type = ? AND (claimed_until IS NULL OR claimed_until <= ?) ORDER BY seq LIMIT ?${skipLocked(d)}`,
        [modelType, nowSeconds, limit],
      );
      if (rows.length === 0) return null;
      const seqs = rows.map((r) => r.seq);
      await tx.run(`UPDATE experience_outbox SET claimed_by = ?, claimed_until = ? WHERE ${inList(d, 'seq', 'bigint')}`, [claimer, nowSeconds + claimSeconds, listParam(d, seqs)]);
      const ts = await tx.get<{ last_file_ms: number }>(
        `INSERT INTO experience_forwarded (model_type, last_file_ms) VALUES (?, ?)
        ON CONFLICT (model_type) DO UPDATE SET last_file_ms = ${greatest(d, 'experience_forwarded.last_file_ms + 1', 'excluded.last_file_ms')} RETURNING last_file_ms`,
        [modelType, Math.floor(nowSeconds * 1000)],
      );
      return { modelType, claimer, seqs, bodies: rows.map((r) => r.body), bytes: rows.reduce((n, r) => n + r.bytes, 0), fileTs: ts!.last_file_ms };
    });
  }

  /** The batch's file is in place: its rows go, and the type's forwarded figures grow. */
  async complete(batch: OutboxBatch): Promise<void> {
    const d = this.db.dialect;
    await this.db.transaction(async (tx) => {
      await tx.run(`DELETE FROM experience_outbox WHERE claimed_by = ? AND ${inList(d, 'seq', 'bigint')}`, [batch.claimer, listParam(d, batch.seqs)]);
      await tx.run('UPDATE experience_forwarded SET experiences = experiences + ?, bytes = bytes + ?, files = files + 1 WHERE model_type = ?', [
        batch.seqs.length,
        batch.bytes,
        batch.modelType,
      ]);
    });
  }

  /** The file could not be written: the rows are free for the next attempt at once. */
  async unclaim(batch: OutboxBatch): Promise<void> {
    const d = this.db.dialect;
    await this.db.run(`UPDATE experience_outbox SET claimed_by = NULL, claimed_until = NULL WHERE claimed_by = ? AND ${inList(d, 'seq', 'bigint')}`, [
      batch.claimer,
      listParam(d, batch.seqs),
    ]);
  }

  async forwarded(modelType: string): Promise<ForwardedStats> {
    return (await this.db.get<ForwardedStats>('SELECT experiences, bytes, files FROM experience_forwarded WHERE model_type = ?', [modelType])) ?? { experiences: 0, bytes: 0, files: 0 };
  }
}
