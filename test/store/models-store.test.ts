import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { ModelRegistry, type ModelManifest, type ModelVersionRecord } from '../../src/registry/index.js';
import { ModelsStore, versionFromRow, versionToRow } from '../../src/registry/models-store.js';
import { describeStores } from './harness.js';

function record(version: string, jobId: string, createdAtMs = 1_736_942_400_123): ModelVersionRecord {
  const manifest: ModelManifest = {
    manifest_version: 1,
    model_type: 'nlu',
    version,
    created_at: new Date(createdAtMs).toISOString(),
    job_id: jobId,
    metrics: { accuracy: 0.9 },
    experience_counts: { total: 10 },
    digest: `sha256:${'a'.repeat(64)}`,
    files: [],
  };
  return { modelType: 'nlu', version, jobId, digest: manifest.digest, manifest, createdAtMs };
}

it('round-trips a record through toRow/fromRow, splitting the version into numeric parts', () => {
  const rec = record('v12.3.45', 'job-1');
  const row = versionToRow(rec);
  expect(row).toMatchObject({ model_type: 'nlu', version: 'v12.3.45', major: 12, minor: 3, patch: 45, created_at: 1_736_942_400.123 });
  expect(versionFromRow(row)).toEqual(rec);
});

/** Temp folders of the registry tests. */
const cleanup: string[] = [];
afterAll(() => {
  for (const d of cleanup) rmSync(d, { recursive: true, force: true });
});

describeStores('ModelsStore', (fresh, dialect) => {
  const store = async () => new ModelsStore((await fresh()).db);

  it('orders versions numerically, newest first', async () => {
    const s = await store();
    for (const [i, v] of ['v1.0.0', 'v1.10.0', 'v1.9.0', 'v2.0.0', 'v1.0.10', 'v1.0.9'].entries()) await s.insertVersion(record(v, `j${i}`));
    expect((await s.listVersions('nlu')).map((r) => r.version)).toEqual(['v2.0.0', 'v1.10.0', 'v1.9.0', 'v1.0.10', 'v1.0.9', 'v1.0.0']);
    expect(await s.latestVersion('nlu')).toBe('v2.0.0');
    expect(await s.latestVersion('voice')).toBeUndefined();
  });

  it('makes only the first version of a type stable, and reads records back as written', async () => {
    const s = await store();
    expect(await s.insertVersion(record('v1.0.0', 'a'))).toEqual({ inserted: true, madeStable: true });
    expect(await s.insertVersion(record('v1.0.1', 'b'))).toEqual({ inserted: true, madeStable: false });
    expect(await s.pointers('nlu')).toEqual({ modelType: 'nlu', stable: 'v1.0.0', canary: null, canaryPercentage: 0 });
    expect(await s.pointers('voice')).toEqual({ modelType: 'voice', stable: null, canary: null, canaryPercentage: 0 });
    expect(await s.get('nlu', 'v1.0.1')).toEqual(record('v1.0.1', 'b'));
  });

  it('reports a taken job or version as a conflict instead of throwing', async () => {
    const s = await store();
    await s.insertVersion(record('v1.0.0', 'a'));
    expect(await s.insertVersion(record('v1.0.1', 'a'))).toEqual({ inserted: false, conflict: 'job' });
    expect(await s.insertVersion(record('v1.0.0', 'b'))).toEqual({ inserted: false, conflict: 'version' });
    expect((await s.findByJob('a'))?.version).toBe('v1.0.0');
    expect(await s.findByJob('b')).toBeUndefined();
  });

  it('refuses pointers to unregistered versions with TRN_ERR_STORE_FAILED, keeping the driver error as cause', async () => {
    const s = await store();
    await s.insertVersion(record('v1.0.0', 'a'));
    await s.setPointers({ modelType: 'nlu', stable: 'v1.0.0', canary: 'v1.0.0', canaryPercentage: 10 }, 1_000);
    expect((await s.pointers('nlu')).canaryPercentage).toBe(10);
    const foreignKey = dialect === 'postgres' ? '23503' : 'SQLITE_CONSTRAINT_FOREIGNKEY';
    await expect(s.setPointers({ modelType: 'nlu', stable: 'v1.0.0', canary: 'v9.9.9', canaryPercentage: 10 }, 2_000)).rejects.toMatchObject({
      code: 'TRN_ERR_STORE_FAILED',
      cause: expect.objectContaining({ code: foreignKey }),
    });
  });

  it('keeps versions distinct and one stable pointer when two handles register one type at once', async () => {
    const { db, another } = await fresh();
    const handles = [db, await another()];
    const stores = handles.map((h) => new ModelsStore(h));
    // Connected beforehand, so no handle's transaction ends before the other's begins.
    await Promise.all(handles.map((h) => h.get('SELECT 1')));
    // Different versions from both sides, and the same version and the same job raced from both sides.
    const results = await Promise.all([
      stores[0].insertVersion(record('v1.0.0', 'a')),
      stores[1].insertVersion(record('v1.0.1', 'b')),
      stores[0].insertVersion(record('v1.0.2', 'c')),
      stores[1].insertVersion(record('v1.0.2', 'd')),
      stores[0].insertVersion(record('v1.0.3', 'e')),
      stores[1].insertVersion(record('v1.0.4', 'e')),
    ]);
    expect(results.slice(0, 2).every((r) => r.inserted)).toBe(true);
    // Of each raced pair one is written; the other learns why it was not, whichever came second.
    expect(results.slice(2, 4).filter((r) => !r.inserted)).toEqual([{ inserted: false, conflict: 'version' }]);
    expect(results.slice(4, 6).filter((r) => !r.inserted)).toEqual([{ inserted: false, conflict: 'job' }]);
    // Exactly one registration made itself stable, and the pointer names that one.
    const madeStable = results.flatMap((r, i) => (r.inserted && r.madeStable ? [i] : []));
    expect(madeStable).toHaveLength(1);
    const seen = await stores[1].pointers('nlu');
    expect(seen.stable).toBe(['v1.0.0', 'v1.0.1', 'v1.0.2', 'v1.0.2', 'v1.0.3', 'v1.0.4'][madeStable[0]]);
    expect(await stores[0].listVersions('nlu')).toHaveLength(4);
  });

  it('gives two registries on separate handles distinct versions of one type and the same stable, and one version per job', async () => {
    const { db, another } = await fresh();
    const root = mkdtempSync(join(tmpdir(), 'trinity-registry-race-'));
    cleanup.push(root);
    const modelsDir = join(root, 'models');
    const registries = [new ModelRegistry({ db, modelsDir }), new ModelRegistry({ db: await another(), modelsDir })];
    const input = (jobId: string) => {
      const sourceDir = join(root, `export-${jobId}`);
      mkdirSync(sourceDir, { recursive: true });
      writeFileSync(join(sourceDir, 'model.json'), jobId);
      return { modelType: 'nlu' as const, jobId, sourceDir, metrics: { val_accuracy: 0.9 }, counts: { total: 1 } };
    };
    const jobs = ['a', 'b', 'c', 'd', 'e', 'a'];
    const made = await Promise.all(jobs.map((job, i) => registries[i % 2].register(input(job))));
    expect(made.slice(0, 5).map((v) => v.version).sort()).toEqual(['v1.0.0', 'v1.0.1', 'v1.0.2', 'v1.0.3', 'v1.0.4']);
    expect(made[5].version).toBe(made[0].version);
    const stable = await Promise.all(registries.map(async (r) => (await r.stable('nlu'))?.version));
    expect(stable).toEqual(['v1.0.0', 'v1.0.0']);
    expect((await registries[1].listVersions('nlu')).map((v) => v.version)).toEqual(['v1.0.4', 'v1.0.3', 'v1.0.2', 'v1.0.1', 'v1.0.0']);
  });
});
