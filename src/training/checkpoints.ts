/**
 * A job's checkpoints under CHECKPOINT_DIR/<job_id>/. Each is a folder `epoch-000012/` holding the
 * trainer's state files and `checkpoint.json` (epoch, generator state, metrics). It is written into a
 * dot-named temporary folder, every file synced, then renamed into place: a crash never leaves a half
 * checkpoint as the latest. The last KEEP_LAST and the best (lowest val_loss) are kept.
 */
import { existsSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RngState } from './rng.js';
import type { EpochMetrics } from './trainers/types.js';
import { ensureDir, fsyncDir, PRIVATE_FILE_MODE, syncTree } from '../util/fs.js';

/** How many of the newest checkpoints survive pruning (the best one is kept as well). */
export const KEEP_LAST_CHECKPOINTS = 3;

const NAME = /^epoch-(\d{6})$/;

export interface CheckpointMeta {
  job_id: string;
  epoch: number;
  total_epochs: number;
  rng: RngState;
  metrics: EpochMetrics & { [name: string]: number };
  created_at: string;
}

export interface Checkpoint {
  dir: string;
  meta: CheckpointMeta;
}

export class CheckpointDir {
  readonly root: string;

  constructor(checkpointsRoot: string, jobId: string) {
    this.root = join(checkpointsRoot, jobId);
  }

  /** Writes one checkpoint: `writeState` fills the folder, then the metadata is added and it is published. */
  async save(meta: CheckpointMeta, writeState: (dir: string) => Promise<void>): Promise<Checkpoint> {
    ensureDir(this.root);
    const name = `epoch-${String(meta.epoch).padStart(6, '0')}`;
    const tmp = join(this.root, `.${name}.${process.pid}.tmp`);
    rmSync(tmp, { recursive: true, force: true });
    ensureDir(tmp);
    await writeState(tmp);
    writeFileSync(join(tmp, 'checkpoint.json'), JSON.stringify(meta, null, 2), { mode: PRIVATE_FILE_MODE });
    syncTree(tmp);
    const dir = join(this.root, name);
    rmSync(dir, { recursive: true, force: true });
    renameSync(tmp, dir);
    fsyncDir(this.root);
    this.prune();
    return { dir, meta };
  }

  /** Every complete checkpoint, oldest first. */
  list(): Checkpoint[] {
    if (!existsSync(this.root)) return [];
    const out: Checkpoint[] = [];
    for (const name of readdirSync(this.root).sort()) {
      if (!NAME.test(name)) continue;
      const dir = join(this.root, name);
      try {
        const meta = JSON.parse(readFileSync(join(dir, 'checkpoint.json'), 'utf8')) as CheckpointMeta;
        out.push({ dir, meta });
      } catch {
        // A folder without readable metadata is not a checkpoint (cannot happen after rename, but be safe).
      }
    }
    return out;
  }

  latest(): Checkpoint | undefined {
    return this.list().at(-1);
  }

  best(): Checkpoint | undefined {
    let best: Checkpoint | undefined;
    for (const c of this.list()) {
      if (!best || c.meta.metrics.val_loss < best.meta.metrics.val_loss) best = c;
    }
    return best;
  }

  /** Deletes all but the last KEEP_LAST_CHECKPOINTS and the best, and any leftover temporary folders. */
  prune(): void {
    const all = this.list();
    const keep = new Set(all.slice(-KEEP_LAST_CHECKPOINTS).map((c) => c.dir));
    const best = this.best();
    if (best) keep.add(best.dir);
    for (const c of all) if (!keep.has(c.dir)) rmSync(c.dir, { recursive: true, force: true });
    for (const name of readdirSync(this.root)) {
      if (name.startsWith('.epoch-') && name.endsWith('.tmp') && !name.includes(`.${process.pid}.`)) {
        rmSync(join(this.root, name), { recursive: true, force: true });
      }
    }
  }
}
