import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ModelRegistry } from '../../src/registry/index.js';
import { openDatabase } from '../../src/store/database.js';
import { SqliteSql } from '../../src/store/sql.js';
import { createFixture, type Fixture } from './helpers.js';

/** Larger than any pid Linux hands out (pid_max ≤ 2^22), so surely dead. */
const DEAD_PID = 2_147_483_647;
const HOST = hostname().replace(/[^A-Za-z0-9]/g, '');

let f: Fixture;
beforeEach(() => {
  f = createFixture();
});
afterEach(() => f.close());

/** A registry over the same folder but a fresh database: what a crash between rename and insert looks like. */
function registryWithLostRows(): ModelRegistry {
  return new ModelRegistry({ db: new SqliteSql(openDatabase({ path: ':memory:' })), modelsDir: f.modelsDir });
}

describe('ModelRegistry reconcile', () => {
  it('removes staging folders left by dead registrations on the next register, and never lists them', async () => {
    const typeDir = join(f.modelsDir, 'nlu');
    const dead = join(typeDir, `.staging-${HOST}-${DEAD_PID}-abcd`);
    const ours = join(typeDir, `.staging-${HOST}-${process.pid}-beef`);
    const live = join(typeDir, `.staging-${HOST}-${process.ppid}-cafe`);
    const otherHost = join(typeDir, `.staging-otherhost${HOST}-${DEAD_PID}-f00d`);
    for (const d of [dead, ours, live, otherHost]) {
      mkdirSync(join(d, 'weights'), { recursive: true });
      writeFileSync(join(d, 'weights', 'half.bin'), 'half a copy');
    }
    expect(await f.registry.listVersions('nlu')).toEqual([]);

    const v = await f.registry.register(f.input('job-1'));
    expect(v.version).toBe('v1.0.0');
    // The parent process is alive, and a pid on another host (shared folder) says nothing: both stay.
    expect(readdirSync(typeDir).sort()).toEqual(
      [`.staging-${HOST}-${process.ppid}-cafe`, `.staging-otherhost${HOST}-${DEAD_PID}-f00d`, 'v1.0.0'].sort(),
    );
  });

  it('adopts a complete version folder whose row was lost, so the retried job gets it back', async () => {
    const original = await f.registry.register(f.input('job-1'));
    const fresh = registryWithLostRows();
    expect(await fresh.listVersions('nlu')).toEqual([]);

    const retried = await fresh.register(f.input('job-1'));
    expect(retried).toMatchObject({ version: 'v1.0.0', digest: original.digest, jobId: 'job-1', status: 'stable' });
    expect(retried.createdAt).toBe(original.createdAt);
    expect((await fresh.register(f.input('job-2'))).version).toBe('v1.0.1');
  });

  it('reports adopted folders from reconcile() at start', async () => {
    await f.registry.register(f.input('job-1'));
    await f.registry.register(f.input('job-2', { modelType: 'voice' }));
    const fresh = registryWithLostRows();
    const report = await fresh.reconcile();
    expect(report.adopted.sort()).toEqual([join(f.modelsDir, 'nlu', 'v1.0.0'), join(f.modelsDir, 'voice', 'v1.0.0')]);
    expect(report.quarantined).toEqual([]);
    expect((await fresh.stable('voice'))?.version).toBe('v1.0.0');
    expect(await fresh.reconcile()).toEqual({ removedStaging: [], adopted: [], quarantined: [] });
  });

  it('moves a row-less folder that fails verification aside as .orphan-… and reuses its number', async () => {
    await f.registry.register(f.input('job-1'));
    writeFileSync(join(f.modelsDir, 'nlu', 'v1.0.0', 'model.json'), 'tampered');
    const warnings: string[] = [];
    const fresh = new ModelRegistry({
      db: new SqliteSql(openDatabase({ path: ':memory:' })),
      modelsDir: f.modelsDir,
      now: () => 1_000,
      logger: { warn: (_obj, msg) => warnings.push(msg) },
    });

    const v = await fresh.register(f.input('job-2'));
    expect(v.version).toBe('v1.0.0');
    expect(v.jobId).toBe('job-2');
    expect(readdirSync(join(f.modelsDir, 'nlu')).sort()).toEqual(['.orphan-v1.0.0-1000', 'v1.0.0']);
    expect(readFileSync(join(f.modelsDir, 'nlu', '.orphan-v1.0.0-1000', 'model.json'), 'utf8')).toBe('tampered');
    expect(warnings).toEqual(['moved aside a version folder that cannot be registered']);
  });

  it('quarantines a row-less folder without a manifest', async () => {
    mkdirSync(join(f.modelsDir, 'nlu', 'v1.0.0'), { recursive: true });
    writeFileSync(join(f.modelsDir, 'nlu', 'v1.0.0', 'model.json'), '{}');
    const report = await f.registry.reconcile();
    expect(report.quarantined).toHaveLength(1);
    expect((await f.registry.register(f.input('job-1'))).version).toBe('v1.0.0');
  });

  it('leaves no staging folder and no row when registration fails after the copy', async () => {
    let calls = 0;
    const flaky = new ModelRegistry({
      db: f.sql,
      modelsDir: f.modelsDir,
      now: () => {
        if (calls++ === 0) throw new Error('clock broke');
        return 5_000;
      },
    });
    await expect(flaky.register(f.input('job-1'))).rejects.toMatchObject({
      code: 'TRN_ERR_MODEL_REGISTER_FAILED',
      message: 'could not register a nlu model for job job-1: clock broke',
      cause: expect.objectContaining({ message: 'clock broke' }),
    });
    expect(readdirSync(join(f.modelsDir, 'nlu'))).toEqual([]);
    expect((await flaky.register(f.input('job-1'))).version).toBe('v1.0.0');
  });

  it('retries with a fresh reconcile when another process takes the version between choice and rename', async () => {
    let calls = 0;
    const racing = new ModelRegistry({
      db: f.sql,
      modelsDir: f.modelsDir,
      now: () => {
        // Called after the copy, just before the rename: another writer creates v1.0.0 without a row.
        if (calls++ === 0) {
          mkdirSync(join(f.modelsDir, 'nlu', 'v1.0.0'));
          writeFileSync(join(f.modelsDir, 'nlu', 'v1.0.0', 'junk'), 'x');
        }
        return 7_000;
      },
    });
    const v = await racing.register(f.input('job-1'));
    expect(v.version).toBe('v1.0.0');
    expect((await racing.verify('nlu', 'v1.0.0')).ok).toBe(true);
    expect(readdirSync(join(f.modelsDir, 'nlu')).sort()).toEqual(['.orphan-v1.0.0-7000', 'v1.0.0']);
  });
});
