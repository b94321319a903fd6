/**
 * The soak, shortened: a seeded SIGKILL of each service at two moments, a few seconds of mixed load, the
 * disk-full case and `trinity up` killed. Every count must be zero (the latency and memory figures are
 * printed by `npm run soak`; on a shared two-core runner they are not asserted here).
 */
import { describe, expect, it } from 'vitest';
import { QUICK_OPTIONS, runSoak } from '../../soak/soak.js';

const SEED = 14;

describe('soak (quick)', () => {
  it(`loses, duplicates, corrupts and strands nothing through SIGKILLs, load and a full disk (seed ${SEED})`, async () => {
    const lines: string[] = [];
    const result = await runSoak({ ...QUICK_OPTIONS, seed: SEED, log: (l) => lines.push(l) });
    const counts = result.rows.filter((r) => r.target === '0' || r.target === 'yes' || r.target.startsWith('≥'));
    const misses = counts.filter((r) => r.ok === false).map((r) => `${r.figure}: ${r.value}`);
    const details = [...result.fiveXxExamples, ...result.settled.stuckJobs, ...result.settled.failedJobs, ...result.settled.stuckDeployments, ...result.settled.corrupt.map((c) => c.problem), ...result.diskFull.fiveXxExamples, ...result.diskFull.exits];
    expect(misses, `${lines.join('\n')}\n${details.join('\n')}`).toEqual([]);
    // The latency probe ran in its own process and timed every API, idle and under load.
    expect(result.load.samples).toBeGreaterThan(0);
    for (const p99 of [...Object.values(result.idle.p99), ...Object.values(result.load.p99)]) expect(p99).toBeGreaterThan(0);
  }, 300_000);
});
