import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ModelManifest, ModelVersionRecord } from '../../src/registry/index.js';
import { openDatabase, type Db } from '../../src/store/database.js';
import { ModelsStore, versionFromRow, versionToRow } from '../../src/registry/models-store.js';

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

let db: Db;
let store: ModelsStore;
beforeEach(() => {
  db = openDatabase({ path: ':memory:' });
  store = new ModelsStore(db);
});
afterEach(() => db.close());

describe('ModelsStore', () => {
  it('round-trips a record through toRow/fromRow, splitting the version into numeric parts', () => {
    const rec = record('v12.3.45', 'job-1');
    const row = versionToRow(rec);
    expect(row).toMatchObject({ model_type: 'nlu', version: 'v12.3.45', major: 12, minor: 3, patch: 45, created_at: 1_736_942_400.123 });
    expect(versionFromRow(row)).toEqual(rec);
  });

  it('orders versions numerically, newest first', () => {
    for (const [i, v] of ['v1.0.0', 'v1.10.0', 'v1.9.0', 'v2.0.0', 'v1.0.10', 'v1.0.9'].entries()) store.insertVersion(record(v, `j${i}`));
    expect(store.listVersions('nlu').map((r) => r.version)).toEqual(['v2.0.0', 'v1.10.0', 'v1.9.0', 'v1.0.10', 'v1.0.9', 'v1.0.0']);
    expect(store.latestVersion('nlu')).toBe('v2.0.0');
    expect(store.latestVersion('voice')).toBeUndefined();
  });

  it('makes only the first version of a type stable', () => {
    expect(store.insertVersion(record('v1.0.0', 'a'))).toEqual({ inserted: true, madeStable: true });
    expect(store.insertVersion(record('v1.0.1', 'b'))).toEqual({ inserted: true, madeStable: false });
    expect(store.pointers('nlu')).toEqual({ modelType: 'nlu', stable: 'v1.0.0', canary: null, canaryPercentage: 0 });
    expect(store.pointers('voice')).toEqual({ modelType: 'voice', stable: null, canary: null, canaryPercentage: 0 });
  });

  it('reports a taken job or version as a conflict instead of throwing', () => {
    store.insertVersion(record('v1.0.0', 'a'));
    expect(store.insertVersion(record('v1.0.1', 'a'))).toEqual({ inserted: false, conflict: 'job' });
    expect(store.insertVersion(record('v1.0.0', 'b'))).toEqual({ inserted: false, conflict: 'version' });
    expect(store.findByJob('a')?.version).toBe('v1.0.0');
    expect(store.findByJob('b')).toBeUndefined();
  });

  it('refuses pointers to unregistered versions with TRN_ERR_STORE_FAILED, keeping the driver error as cause', () => {
    store.insertVersion(record('v1.0.0', 'a'));
    store.setPointers({ modelType: 'nlu', stable: 'v1.0.0', canary: 'v1.0.0', canaryPercentage: 10 }, 1_000);
    expect(store.pointers('nlu').canaryPercentage).toBe(10);
    let caught: unknown;
    try {
      store.setPointers({ modelType: 'nlu', stable: 'v1.0.0', canary: 'v9.9.9', canaryPercentage: 10 }, 2_000);
    } catch (err) {
      caught = err;
    }
    expect(caught).toMatchObject({ code: 'TRN_ERR_STORE_FAILED', cause: expect.objectContaining({ code: 'SQLITE_CONSTRAINT_FOREIGNKEY' }) });
  });
});
