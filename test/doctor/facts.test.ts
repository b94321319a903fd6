import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/config.js';
import { homeFact, memoryNeeds } from '../../src/doctor/index.js';
import { tempHome } from '../helpers/processes.js';

describe('doctor facts', () => {
  it('takes the need from TRAINING_MEMORY_RESERVE_GB when set, and says when it is only the default', () => {
    const env = { JARVIS_HOME: '/tmp/x', TRAINING_MEMORY_RESERVE_GB: '3' };
    expect(memoryNeeds(parseConfig(env), env)).toEqual([{ jobs: 'every job', gb: 3, source: 'TRAINING_MEMORY_RESERVE_GB' }]);
    const unset = { JARVIS_HOME: '/tmp/x' };
    expect(memoryNeeds(parseConfig(unset), unset)[0]).toMatchObject({ jobs: 'every job', source: expect.not.stringMatching(/^TRAINING_MEMORY_RESERVE_GB$/) });
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
