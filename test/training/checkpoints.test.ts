import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CheckpointDir } from '../../src/training/checkpoints.js';
import { JobLock, LOCK_NAME } from '../../src/training/job-lock.js';
import { tempHome } from '../helpers/processes.js';

const meta = (epoch: number) => ({
  job_id: 'j',
  epoch,
  total_epochs: 9,
  rng: { s: [1, 2, 3, 4] } as never,
  metrics: { loss: 1, accuracy: 0, val_loss: 1, val_accuracy: 0, samples: 1 } as never,
  created_at: new Date().toISOString(),
});
const writeState = (bytes: number) => async (dir: string) => writeFileSync(join(dir, 'state.bin'), Buffer.alloc(bytes, 7));

function enospc(): NodeJS.ErrnoException {
  return Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
}

describe('CheckpointDir', () => {
  it('leaves no temporary folder behind when the disk fills during a save', async () => {
    const cp = new CheckpointDir(tempHome('trinity-cp-'), 'j');
    await cp.save(meta(1), writeState(100));
    const failing = async (dir: string) => {
      writeFileSync(join(dir, 'state.bin'), Buffer.alloc(50));
      throw enospc();
    };
    await expect(cp.save(meta(2), failing)).rejects.toMatchObject({ code: 'ENOSPC' });
    expect(readdirSync(cp.root).sort()).toEqual(['epoch-000001']);
  });

  it('resumes from the newest checkpoint whose files match their digests, setting damaged ones aside with the reason', async () => {
    const cp = new CheckpointDir(tempHome('trinity-cp-'), 'j');
    for (const e of [1, 2, 3]) await cp.save(meta(e), writeState(1000));
    writeFileSync(join(cp.root, 'epoch-000003', 'state.bin'), Buffer.alloc(400)); // truncated
    writeFileSync(join(cp.root, 'epoch-000002', 'state.bin'), Buffer.alloc(1000, 8)); // same size, other bytes
    const { checkpoint, skipped } = await cp.newestIntact();
    expect(checkpoint?.meta.epoch).toBe(1);
    expect(skipped.map((s) => [s.epoch, s.reason])).toEqual([
      [3, 'state.bin has 400 bytes, 1000 were written'],
      [2, 'state.bin does not match its SHA-256'],
    ]);
    expect(readdirSync(cp.root).sort()).toEqual(['corrupt-epoch-000002', 'corrupt-epoch-000003', 'epoch-000001']);
    expect(readFileSync(join(cp.root, 'corrupt-epoch-000003', 'REASON'), 'utf8')).toMatch(/400 bytes/);
  });

  it('clears temporary folders of earlier trainers', async () => {
    const cp = new CheckpointDir(tempHome('trinity-cp-'), 'j');
    mkdirSync(join(cp.root, '.epoch-000020.99999.tmp'), { recursive: true });
    expect(cp.removeTemporary()).toEqual(['.epoch-000020.99999.tmp']);
    expect(readdirSync(cp.root)).toEqual([]);
  });
});

describe('JobLock', () => {
  it('takes over the lock of a trainer that is gone', async () => {
    const dir = tempHome('trinity-lock-');
    const dead = spawn(process.execPath, ['-e', '']);
    await new Promise((r) => dead.once('exit', r));
    writeFileSync(join(dir, LOCK_NAME), JSON.stringify({ pid: dead.pid, start_time: 1 }));
    const lock = new JobLock(dir);
    expect(await lock.acquire(1_000)).toEqual({ tookOverFrom: dead.pid });
    expect(JSON.parse(readFileSync(join(dir, LOCK_NAME), 'utf8')).pid).toBe(process.pid);
    lock.release();
    expect(existsSync(join(dir, LOCK_NAME))).toBe(false);
  });

  it('waits for a live holder and gives up naming it', async () => {
    const dir = tempHome('trinity-lock-');
    const first = new JobLock(dir);
    await first.acquire(1_000);
    const waited: number[] = [];
    await expect(new JobLock(dir).acquire(600, (h) => waited.push(h.pid))).rejects.toThrow(`another trainer (pid ${process.pid}) still runs this job`);
    expect(waited).toEqual([process.pid]);
    first.release();
    await expect(new JobLock(dir).acquire(600)).resolves.toEqual({ tookOverFrom: null });
  });
});
