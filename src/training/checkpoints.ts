/**
 * A job's checkpoints under CHECKPOINT_DIR/<job_id>/. Each is a folder `epoch-000012/` holding the
 * trainer's state files and `checkpoint.json` (epoch, generator state, metrics, and the size and SHA-256
 * of every state file). It is written into a dot-named temporary folder, every file synced, then renamed
 * into place: a crash never leaves a half checkpoint as the latest, and a failed write (a full disk)
 * leaves nothing behind. A resume verifies checkpoints newest first and sets damaged ones aside as
 * `corrupt-epoch-000012/` with a REASON file. The last KEEP_LAST and the best (lowest val_loss) are kept.
 */
import { existsSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RngState } from '../models/kernels/rng.js';
import type { EpochMetrics } from '../models/types.js';
import { scanArtifacts } from '../registry/artifacts.js';
import type { ManifestFile } from '../registry/types.js';
import { ensureDir, fsyncDir, PRIVATE_FILE_MODE, syncTree } from '../util/fs.js';

/** How many of the newest checkpoints survive pruning (the best one is kept as well). */
export const KEEP_LAST_CHECKPOINTS = 3;

const NAME = /^epoch-(\d{6})$/;
const META_NAME = 'checkpoint.json';
const TEMPORARY = /^\.epoch-\d{6}\.\d+\.tmp$/;

export interface CheckpointMeta {
  job_id: string;
  epoch: number;
  total_epochs: number;
  rng: RngState;
  metrics: EpochMetrics & { [name: string]: number };
  created_at: string;
  /** Every state file with its size and SHA-256, checked before a resume (absent in older checkpoints). */
  files?: ManifestFile[];
}

export interface Checkpoint {
  dir: string;
  meta: CheckpointMeta;
}

/** A checkpoint a resume did not use, and why. */
export interface SkippedCheckpoint {
  epoch: number;
  /** Where it was set aside. */
  dir: string;
  reason: string;
}

export class CheckpointDir {
  readonly root: string;

  constructor(checkpointsRoot: string, jobId: string) {
    this.root = join(checkpointsRoot, jobId);
  }

  /** Writes one checkpoint: `writeState` fills the folder, then the metadata is added and it is published. */
  async save(meta: Omit<CheckpointMeta, 'files'>, writeState: (dir: string) => Promise<void>): Promise<Checkpoint> {
    ensureDir(this.root);
    const name = nameOf(meta.epoch);
    const tmp = join(this.root, `.${name}.${process.pid}.tmp`);
    rmSync(tmp, { recursive: true, force: true });
    try {
      ensureDir(tmp);
      await writeState(tmp);
      const full: CheckpointMeta = { ...meta, files: (await scanArtifacts(tmp)).files };
      writeFileSync(join(tmp, META_NAME), JSON.stringify(full, null, 2), { mode: PRIVATE_FILE_MODE });
      syncTree(tmp);
      const dir = join(this.root, name);
      rmSync(dir, { recursive: true, force: true });
      renameSync(tmp, dir);
      fsyncDir(this.root);
      this.prune();
      return { dir, meta: full };
    } catch (err) {
      // ENOSPC half way through: the partial folder would only take more of the space that is missing.
      rmSync(tmp, { recursive: true, force: true });
      throw err;
    }
  }

  /** Every complete checkpoint, oldest first. */
  list(): Checkpoint[] {
    const out: Checkpoint[] = [];
    for (const dir of this.folders()) {
      const meta = readMeta(dir);
      if (typeof meta !== 'string') out.push({ dir, meta });
    }
    return out;
  }

  latest(): Checkpoint | undefined {
    return this.list().at(-1);
  }

  /**
   * The newest checkpoint whose metadata reads and whose files match their recorded sizes and digests.
   * Newer ones that fail are set aside (see setAside) and returned as `skipped`, newest first.
   */
  async newestIntact(): Promise<{ checkpoint?: Checkpoint; skipped: SkippedCheckpoint[] }> {
    const skipped: SkippedCheckpoint[] = [];
    for (const dir of this.folders().reverse()) {
      const meta = readMeta(dir);
      const problem = typeof meta === 'string' ? meta : await damage(dir, meta);
      if (problem === null) return { checkpoint: { dir, meta: meta as CheckpointMeta }, skipped };
      skipped.push(this.setAside(dir, problem));
    }
    return { skipped };
  }

  /** Moves a damaged checkpoint out of the way (`corrupt-epoch-000012/`, with the reason in REASON). */
  setAside(dir: string, reason: string): SkippedCheckpoint {
    const name = dir.slice(this.root.length + 1);
    const epoch = Number(NAME.exec(name)?.[1] ?? NaN);
    const aside = join(this.root, `corrupt-${name}`);
    rmSync(aside, { recursive: true, force: true });
    renameSync(dir, aside);
    try {
      writeFileSync(join(aside, 'REASON'), reason + '\n', { mode: PRIVATE_FILE_MODE });
    } catch {
      // the folder name says enough when even this cannot be written
    }
    return { epoch, dir: aside, reason };
  }

  best(): Checkpoint | undefined {
    let best: Checkpoint | undefined;
    for (const c of this.list()) {
      if (!best || c.meta.metrics.val_loss < best.meta.metrics.val_loss) best = c;
    }
    return best;
  }

  /** Deletes temporary folders of earlier trainers of this job (a crash or an orphan exit mid-save). */
  removeTemporary(): string[] {
    if (!existsSync(this.root)) return [];
    const removed: string[] = [];
    for (const name of readdirSync(this.root)) {
      if (TEMPORARY.test(name) && !name.includes(`.${process.pid}.`)) {
        rmSync(join(this.root, name), { recursive: true, force: true });
        removed.push(name);
      }
    }
    return removed;
  }

  /** Deletes all but the last KEEP_LAST_CHECKPOINTS and the best, and any leftover temporary folders. */
  prune(): void {
    const all = this.list();
    const keep = new Set(all.slice(-KEEP_LAST_CHECKPOINTS).map((c) => c.dir));
    const best = this.best();
    if (best) keep.add(best.dir);
    for (const c of all) if (!keep.has(c.dir)) rmSync(c.dir, { recursive: true, force: true });
    this.removeTemporary();
  }

  /** Checkpoint folders by name, oldest first. */
  private folders(): string[] {
    if (!existsSync(this.root)) return [];
    return readdirSync(this.root)
      .filter((name) => NAME.test(name))
      .sort()
      .map((name) => join(this.root, name));
  }
}

function nameOf(epoch: number): string {
  return `epoch-${String(epoch).padStart(6, '0')}`;
}

/** The metadata, or why it cannot be read. */
function readMeta(dir: string): CheckpointMeta | string {
  let text: string;
  try {
    text = readFileSync(join(dir, META_NAME), 'utf8');
  } catch (err) {
    return `${META_NAME} is unreadable (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`;
  }
  try {
    const meta = JSON.parse(text) as CheckpointMeta;
    if (typeof meta?.epoch !== 'number' || typeof meta.rng !== 'object') return `${META_NAME} lacks epoch or rng`;
    return meta;
  } catch (err) {
    return `${META_NAME} is not JSON (${(err as Error).message})`;
  }
}

/** The first difference between the state files and the digests in the metadata; null when they match. */
async function damage(dir: string, meta: CheckpointMeta): Promise<string | null> {
  if (!meta.files) return null; // written before checkpoints carried digests: the load itself decides
  const found = new Map((await scanArtifacts(dir)).files.map((f) => [f.path, f]));
  for (const want of meta.files) {
    const got = found.get(want.path);
    if (!got) return `${want.path} is missing`;
    if (got.bytes !== want.bytes) return `${want.path} has ${got.bytes} bytes, ${want.bytes} were written`;
    if (got.sha256 !== want.sha256) return `${want.path} does not match its SHA-256`;
  }
  return null;
}
