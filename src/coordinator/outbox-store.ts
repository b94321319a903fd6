/**
 * JARVIS's experience outbox (migration 3): experiences collected over HTTP wait here until a file with
 * them is in trinity/events/. A writer claims a batch for a while, writes the file, then deletes the rows;
 * if it dies in between the claim runs out and the batch goes again (reactor ignores the repeat: an
 * experience's identity is its id or content hash). Only this file knows the outbox SQL.
 */
import type { Statement } from 'better-sqlite3';
import type { Db } from '../store/database.js';

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

export class OutboxStore {
  private readonly s: Record<string, Statement>;

  constructor(private readonly db: Db) {
    const p = (sql: string) => db.prepare(sql);
    this.s = {
      insert: p('INSERT INTO experience_outbox (model_type, body, bytes, created_at) VALUES (?, ?, ?, ?)'),
      pending: p(`SELECT model_type AS modelType, COUNT(*) AS count, MIN(created_at) AS oldest
        FROM experience_outbox GROUP BY model_type ORDER BY model_type`),
      total: p('SELECT COUNT(*) FROM experience_outbox').pluck(),
      claimable: p(`SELECT seq, body, bytes FROM experience_outbox
        WHERE model_type = ? AND (claimed_until IS NULL OR claimed_until <= ?) ORDER BY seq LIMIT ?`),
      claim: p('UPDATE experience_outbox SET claimed_by = ?, claimed_until = ? WHERE seq IN (SELECT value FROM json_each(?))'),
      unclaim: p('UPDATE experience_outbox SET claimed_by = NULL, claimed_until = NULL WHERE claimed_by = ? AND seq IN (SELECT value FROM json_each(?))'),
      remove: p('DELETE FROM experience_outbox WHERE claimed_by = ? AND seq IN (SELECT value FROM json_each(?))'),
      fileTs: p(`INSERT INTO experience_forwarded (model_type, last_file_ms) VALUES (@type, @now)
        ON CONFLICT (model_type) DO UPDATE SET last_file_ms = MAX(last_file_ms + 1, @now) RETURNING last_file_ms`).pluck(),
      forwarded: p(`UPDATE experience_forwarded SET experiences = experiences + ?, bytes = bytes + ?, files = files + 1
        WHERE model_type = ?`),
      stats: p('SELECT experiences, bytes, files FROM experience_forwarded WHERE model_type = ?'),
    };
  }

  /** Stores experiences durably (one transaction: all or none). */
  add(items: OutboxItem[], now: number): number {
    this.db
      .transaction(() => {
        for (const it of items) this.s.insert.run(it.modelType, it.body, Buffer.byteLength(it.body), now);
      })
      .immediate();
    return items.length;
  }

  pendingByType(): PendingByType[] {
    return this.s.pending.all() as PendingByType[];
  }

  pendingTotal(): number {
    return this.s.total.get() as number;
  }

  /** Claims up to `limit` unclaimed experiences of a type for `claimSeconds`; null when there are none. */
  claim(modelType: string, claimer: string, limit: number, claimSeconds: number, nowSeconds: number): OutboxBatch | null {
    return this.db
      .transaction((): OutboxBatch | null => {
        const rows = this.s.claimable.all(modelType, nowSeconds, limit) as { seq: number; body: string; bytes: number }[];
        if (rows.length === 0) return null;
        const seqs = rows.map((r) => r.seq);
        this.s.claim.run(claimer, nowSeconds + claimSeconds, JSON.stringify(seqs));
        const fileTs = this.s.fileTs.get({ type: modelType, now: Math.floor(nowSeconds * 1000) }) as number;
        return { modelType, claimer, seqs, bodies: rows.map((r) => r.body), bytes: rows.reduce((n, r) => n + r.bytes, 0), fileTs };
      })
      .immediate();
  }

  /** The batch's file is in place: its rows go, and the type's forwarded figures grow. */
  complete(batch: OutboxBatch): void {
    this.db
      .transaction(() => {
        this.s.remove.run(batch.claimer, JSON.stringify(batch.seqs));
        this.s.forwarded.run(batch.seqs.length, batch.bytes, batch.modelType);
      })
      .immediate();
  }

  /** The file could not be written: the rows are free for the next attempt at once. */
  unclaim(batch: OutboxBatch): void {
    this.s.unclaim.run(batch.claimer, JSON.stringify(batch.seqs));
  }

  forwarded(modelType: string): ForwardedStats {
    return (this.s.stats.get(modelType) as ForwardedStats | undefined) ?? { experiences: 0, bytes: 0, files: 0 };
  }
}
