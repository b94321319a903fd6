/**
 * The training runners alive now (migration 7's training_workers): a reactor's own runner and each
 * `trinity worker`, with its pool. Each beats its row at every heartbeat and deletes it when it stops; a
 * row not beaten within its lease TTL is a runner that died. The reactor lists them (GET
 * /api/training/workers) so JARVIS's placement knows which pools can take a job, and the dashboard shows
 * who trains what. The only place that knows this table's SQL; on the async store seam (src/store/sql.ts).
 */
import type { SqlDb } from '../store/sql.js';
import type { ProcessIdentity } from '../util/process-identity.js';

export interface RosterEntry {
  workerId: string;
  pool: string;
  host: string;
  pid: number;
  startedAt: number;
  seenAt: number;
}

interface RosterRow {
  worker_id: string;
  pool: string;
  host: string;
  pid: number;
  started_at: number;
  seen_at: number;
}

export class WorkerRoster {
  constructor(private readonly db: SqlDb) {}

  /** Records that `workerId` of `pool` is alive at `now` (unix seconds) for the next `ttlSeconds`. */
  async beat(workerId: string, pool: string, owner: ProcessIdentity, ttlSeconds: number, now: number): Promise<void> {
    await this.db.run(
      `INSERT INTO training_workers (worker_id, pool, host, pid, started_at, seen_at, ttl_seconds) VALUES (?, ?, ?, ?, ?, ?, ?)
      ON CONFLICT (worker_id) DO UPDATE SET pool = excluded.pool, seen_at = excluded.seen_at, ttl_seconds = excluded.ttl_seconds`,
      [workerId, pool, owner.host.split(' ')[0], owner.pid, now, now, ttlSeconds],
    );
  }

  /** A runner stopping: it is off the list at once. */
  async leave(workerId: string): Promise<void> {
    await this.db.run('DELETE FROM training_workers WHERE worker_id = ?', [workerId]);
  }

  /** The runners that beat within their TTL, by pool. */
  async live(now: number): Promise<RosterEntry[]> {
    const rows = await this.db.all<RosterRow>('SELECT worker_id, pool, host, pid, started_at, seen_at FROM training_workers WHERE seen_at + ttl_seconds > ? ORDER BY pool, started_at', [now]);
    return rows.map((r) => ({
      workerId: r.worker_id,
      pool: r.pool,
      host: r.host,
      pid: r.pid,
      startedAt: r.started_at,
      seenAt: r.seen_at,
    }));
  }
}
