import { spawn } from 'node:child_process';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/config.js';
import { ReactorClient } from '../../src/client/index.js';
import { DEMO_JOB_EXPERIENCES, homeFact, memoryNeeds, stoppedDatabaseHolders } from '../../src/doctor/index.js';
import { tempHome, waitFor } from '../helpers/processes.js';

describe('doctor facts', () => {
  it.skipIf(process.platform !== 'linux')('finds a stopped process that holds the SQLite database open, and not a running one', async () => {
    const db = join(tempHome('trinity-doctor-stopped-'), 'trinity.db');
    // A process with the database open, the way every service holds it.
    const child = spawn(process.execPath, ['-e', `const D = require('better-sqlite3'); const d = new D(${JSON.stringify(db)}); d.pragma('journal_mode = WAL'); console.log('open'); setInterval(() => {}, 1000);`], {
      cwd: process.cwd(),
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      await new Promise<void>((resolve) => child.stdout!.once('data', () => resolve()));
      expect(stoppedDatabaseHolders(db)).toEqual([]);
      child.kill('SIGSTOP');
      await waitFor(() => (stoppedDatabaseHolders(db)?.length ?? 0) > 0, 5_000, 'the stopped state');
      expect(stoppedDatabaseHolders(db)).toEqual([{ pid: child.pid, command: expect.stringContaining(' -e const D = require(') }]);
      child.kill('SIGCONT');
      await waitFor(() => stoppedDatabaseHolders(db)?.length === 0, 5_000, 'the running state');
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('takes the need from TRAINING_MEMORY_RESERVE_GB when set, for every job', async () => {
    const env = { JARVIS_HOME: '/tmp/x', TRAINING_MEMORY_RESERVE_GB: '3' };
    expect(await memoryNeeds(parseConfig(env), null)).toEqual([{ jobs: 'every job', gb: 3, source: 'TRAINING_MEMORY_RESERVE_GB' }]);
  });

  it("estimates the demo's first nlu job when unset and no reactor answers: a few hundred MB, not the design's 40 GB", async () => {
    const unset = parseConfig({ JARVIS_HOME: '/tmp/x' });
    const down = new ReactorClient({ baseUrl: 'http://127.0.0.1:9' });
    const [need, ...rest] = await memoryNeeds(unset, down);
    expect(rest).toEqual([]);
    expect(need).toMatchObject({ jobs: 'nlu', source: `nlu estimate for the demo's first job, ${DEMO_JOB_EXPERIENCES.toLocaleString('en-US')} experiences` });
    expect(need.gb).toBeGreaterThan(0.1);
    expect(need.gb).toBeLessThan(1);
  });

  it('really writes to the home (or its nearest existing parent) and removes what it wrote', async () => {
    const dir = tempHome('trinity-doctor-facts-');
    const here = await homeFact(dir);
    expect(here).toMatchObject({ exists: true, triedDir: dir, writeError: null });
    expect(here.freeBytes).toBeGreaterThan(0);
    expect(here.totalBytes).toBeGreaterThanOrEqual(here.freeBytes!);
    expect(await homeFact(join(dir, 'a', 'b'))).toMatchObject({ exists: false, triedDir: dir, writeError: null });
    expect(readdirSync(dir)).toEqual([]);
    writeFileSync(join(dir, 'file'), 'x');
    expect(await homeFact(join(dir, 'file', 'home'))).toMatchObject({ exists: false, triedDir: join(dir, 'file'), writeError: 'ENOTDIR' });
  });
});
