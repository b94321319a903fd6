import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ChildPool } from '../../src/supervisor/index.js';
import { ROOT, waitFor } from '../helpers/processes.js';

const CRASHY = join(ROOT, 'test/supervisor/fixtures/crash-service.mjs');

describe('ChildPool', () => {
  it('restarts a crashing service with doubling delays up to the cap, on the port it reported, until closed', async () => {
    const delays: number[] = [];
    const ports: number[] = [];
    const pool = new ChildPool({
      execPath: process.execPath,
      binPath: CRASHY,
      // Healthy as soon as it says it listens; the fixture then crashes again at once.
      waitHealthy: async (_name, proc) => {
        ports.push(await proc.listening);
        return { ok: true, state: 'healthy', afterMs: 1, last: { url: '', state: 'healthy', httpStatus: 200, service: null, body: null, problems: [], error: null } };
      },
      restartBaseMs: 40,
      restartMaxMs: 120,
      stableAfterMs: 60_000,
    });
    const crashes: Array<number | null> = [];
    pool.on('crashed', (_s, exit) => crashes.push(exit.code));
    pool.on('restarting', (_s, _attempt, delayMs) => delays.push(delayMs));
    const first = pool.launch('reactor', 0, { ...process.env });
    pool.supervise('reactor', await first.listening);
    await waitFor(() => delays.length >= 5, 20_000, 'five restarts');
    await pool.close();
    await pool.close();
    expect(delays.slice(0, 5)).toEqual([40, 80, 120, 120, 120]);
    expect(crashes.every((c) => c === 1)).toBe(true);
    expect(new Set(ports)).toEqual(new Set([4242]));
    expect(pool.process('reactor')!.hasExited).toBe(true);
  });
});
