/**
 * Files to committed rows, measured: 40,000 experiences without ids (so each needs its canonical JSON
 * and SHA-256) in 40 spec batches of 1,000, into a real WAL database on disk. The target is 20,000
 * rows/s on an idle 2-core machine; the assertion is a floor that still holds on a loaded one, and the
 * figures are printed.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ExperienceIntake } from '../../src/experiences/index.js';
import { openDatabase } from '../../src/store/database.js';
import { ExperienceStore } from '../../src/experiences/experiences-store.js';
import { SqliteSql } from '../../src/store/sql.js';
import { tempDir } from './helpers.js';

const ROWS = 40_000;
const PER_FILE = 1_000;
/** Far below the target: only a regression (such as a watcher re-statting the folder per file) trips it. */
const FLOOR_ROWS_PER_SECOND = 5_000;

describe('ExperienceIntake throughput', () => {
  const { dir: home, cleanup } = tempDir('trinity-throughput-');
  afterAll(() => cleanup());

  it(`commits ${ROWS} experiences from files at more than ${FLOOR_ROWS_PER_SECOND} rows/s`, async () => {
    const events = join(home, 'events');
    mkdirSync(events);
    for (let f = 0; f < ROWS / PER_FILE; f++) {
      const experiences = Array.from({ length: PER_FILE }, (_, j) => {
        const k = f * PER_FILE + j;
        return { type: 'command', input: { text: `play song number ${k} by artist ${k % 97}` }, expected_output: { intent: `Intent${k % 7}` }, success: true, confidence: 0.9, timestamp: 1736895345 + k };
      });
      writeFileSync(join(events, `experiences_nlu_${String(f).padStart(4, '0')}.json`), JSON.stringify({ batch_id: `b${f}`, model_type: 'nlu', experiences, created_at: 1 }));
    }
    const db = openDatabase({ path: join(home, 'trinity.db') });
    const store = new ExperienceStore(new SqliteSql(db));
    const intake = new ExperienceIntake({ dir: events, store, watch: false });
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    await intake.start();
    const seconds = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    await intake.close();
    expect(await store.size()).toBe(ROWS);
    db.close();
    const perSecond = Math.round(ROWS / seconds);
    const perCpuSecond = Math.round(ROWS / ((cpu.user + cpu.system) / 1e6));
    console.info(`experience intake: ${ROWS} rows in ${seconds.toFixed(2)} s = ${perSecond} rows/s wall, ${perCpuSecond} rows per CPU-second`);
    expect(perSecond).toBeGreaterThan(FLOOR_ROWS_PER_SECOND);
  });
});
