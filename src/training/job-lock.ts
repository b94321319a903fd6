/**
 * One trainer per job, even across reactor restarts: the trainer holds CHECKPOINT_DIR/<job_id>/trainer.lock
 * (its pid and process start time) while it runs. A trainer orphaned by a killed reactor may still be
 * finishing a batch when the restarted reactor launches the job again; the new trainer waits for the old
 * one to let go. A lock whose holder is gone (or whose pid now names another process) is taken over.
 */
import { closeSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { readStat } from '../util/proc.js';
import { PRIVATE_FILE_MODE } from '../util/fs.js';
import { isRunning } from '../util/process-identity.js';

export const LOCK_NAME = 'trainer.lock';
/** How long a new trainer waits for an earlier one (an orphan stops within one batch). */
export const LOCK_WAIT_MS = 20_000;

interface Holder {
  pid: number;
  /** Process start time in clock ticks since boot (/proc/<pid>/stat field 22); null where unknown. */
  start_time: number | null;
}

function self(): Holder {
  return { pid: process.pid, start_time: readStat(process.pid)?.startTime ?? null };
}

function readHolder(path: string): Holder | null {
  try {
    const h = JSON.parse(readFileSync(path, 'utf8')) as Partial<Holder>;
    return typeof h.pid === 'number' ? { pid: h.pid, start_time: typeof h.start_time === 'number' ? h.start_time : null } : null;
  } catch {
    return null; // missing, or half written by a holder that died: nobody holds it
  }
}

export class JobLock {
  private readonly path: string;
  private held = false;

  constructor(jobDir: string) {
    this.path = join(jobDir, LOCK_NAME);
  }

  /** Takes the lock, waiting up to `waitMs` for a live holder; throws naming the holder when it stays. */
  async acquire(waitMs = LOCK_WAIT_MS, onWait?: (holder: Holder) => void): Promise<{ tookOverFrom: number | null }> {
    const deadline = Date.now() + waitMs;
    let tookOverFrom: number | null = null;
    let told = false;
    for (;;) {
      if (this.tryCreate()) return { tookOverFrom };
      const holder = readHolder(this.path);
      if (holder === null || !isRunning(holder.pid, holder.start_time)) {
        tookOverFrom = holder?.pid ?? null;
        rmSync(this.path, { force: true });
        continue;
      }
      if (Date.now() >= deadline) {
        throw new Error(`another trainer (pid ${holder.pid}) still runs this job after ${Math.round(waitMs / 1000)} s; it holds ${this.path}`);
      }
      if (!told) onWait?.(holder);
      told = true;
      await sleep(200);
    }
  }

  /** Removes the lock if this process holds it; synchronous so it can run in an 'exit' handler. */
  release(): void {
    if (!this.held) return;
    this.held = false;
    if (readHolder(this.path)?.pid === process.pid) rmSync(this.path, { force: true });
  }

  private tryCreate(): boolean {
    let fd: number;
    try {
      fd = openSync(this.path, 'wx', PRIVATE_FILE_MODE);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw err;
    }
    try {
      writeSync(fd, JSON.stringify(self()));
    } finally {
      closeSync(fd);
    }
    this.held = true;
    return true;
  }
}
