/**
 * The model registry's tables (`model_versions`, `model_pointers`). Only this module knows their SQL and
 * row shapes; the registry sees ModelVersionRecord and ModelPointers.
 */
import { StoreFailed } from '../errors.js';
import { isModelType, type ModelType } from '../model-types.js';
import type { ModelManifest, ModelPointers, ModelVersionRecord } from './types.js';
import { joinTransaction, storeCall } from '../store/seam-helpers.js';
import type { Sql, SqlDb } from '../store/sql.js';

/** A `model_versions` row as stored. Times are unix seconds, like every other table. */
export interface ModelVersionRow {
  model_type: string;
  version: string;
  major: number;
  minor: number;
  patch: number;
  job_id: string;
  digest: string;
  /** manifest.json, as written to disk. */
  manifest: string;
  created_at: number;
}

export interface ModelPointerRow {
  model_type: string;
  stable: string | null;
  canary: string | null;
  canary_percentage: number;
  updated_at: number;
}

const VERSION_PARTS_RE = /^v(\d+)\.(\d+)\.(\d+)$/;

export function versionToRow(rec: ModelVersionRecord): ModelVersionRow {
  const m = VERSION_PARTS_RE.exec(rec.version);
  if (m === null) throw StoreFailed(`model version ${JSON.stringify(rec.version)} cannot be stored`);
  return {
    model_type: rec.modelType,
    version: rec.version,
    major: Number(m[1]),
    minor: Number(m[2]),
    patch: Number(m[3]),
    job_id: rec.jobId,
    digest: rec.digest,
    manifest: JSON.stringify(rec.manifest),
    created_at: rec.createdAtMs / 1000,
  };
}

function modelTypeOf(v: string): ModelType {
  if (!isModelType(v)) throw StoreFailed(`model_versions holds an unknown model type ${JSON.stringify(v)}`);
  return v;
}

export function versionFromRow(row: ModelVersionRow): ModelVersionRecord {
  return {
    modelType: modelTypeOf(row.model_type),
    version: row.version,
    jobId: row.job_id,
    digest: row.digest,
    // Written by versionToRow from a manifest the registry built and checked; not user input.
    manifest: JSON.parse(row.manifest) as ModelManifest,
    createdAtMs: Math.round(row.created_at * 1000),
  };
}

export function pointersFromRow(type: ModelType, row: ModelPointerRow | undefined): ModelPointers {
  return {
    modelType: type,
    stable: row?.stable ?? null,
    canary: row?.canary ?? null,
    canaryPercentage: row?.canary_percentage ?? 0,
  };
}

export type InsertVersionResult =
  | { inserted: true; madeStable: boolean }
  /** Nothing written: that version number, or that job, is already registered. */
  | { inserted: false; conflict: 'version' | 'job' };

/** The prefix of this store's StoreFailed messages. */
const WHAT = 'model registry';

const SQL = {
  byJob: 'SELECT * FROM model_versions WHERE job_id = ?',
  get: 'SELECT * FROM model_versions WHERE model_type = ? AND version = ?',
  list: 'SELECT * FROM model_versions WHERE model_type = ? ORDER BY major DESC, minor DESC, patch DESC',
  latest: 'SELECT version FROM model_versions WHERE model_type = ? ORDER BY major DESC, minor DESC, patch DESC LIMIT 1',
  count: 'SELECT COUNT(*) AS n FROM model_versions WHERE model_type = ?',
  // DO NOTHING on either unique key (version, job): a concurrent registration of the same one on Postgres
  // waits for the other to commit and then writes nothing, instead of failing the transaction.
  insert: `INSERT INTO model_versions (model_type, version, major, minor, patch, job_id, digest, manifest, created_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
  pointers: 'SELECT * FROM model_pointers WHERE model_type = ?',
  setStableIfUnset: `INSERT INTO model_pointers (model_type, stable, canary, canary_percentage, updated_at)
                     VALUES (?, ?, NULL, 0, ?)
                     ON CONFLICT (model_type) DO UPDATE SET stable = excluded.stable, updated_at = excluded.updated_at
                     WHERE model_pointers.stable IS NULL`,
  setPointers: `INSERT INTO model_pointers (model_type, stable, canary, canary_percentage, updated_at)
                VALUES (?, ?, ?, ?, ?)
                ON CONFLICT (model_type) DO UPDATE SET stable = excluded.stable, canary = excluded.canary,
                  canary_percentage = excluded.canary_percentage, updated_at = excluded.updated_at`,
} as const;

/**
 * On the async store seam (src/store/sql.ts): built over the database, or over a transaction's `tx` to
 * write inside the caller's transaction (the deployments' pointer updates).
 */
export class ModelsStore {
  readonly #q: Sql | SqlDb;

  /** The database must be migrated. */
  constructor(q: Sql | SqlDb) {
    this.#q = q;
  }

  async findByJob(jobId: string): Promise<ModelVersionRecord | undefined> {
    const row = await this.#get<ModelVersionRow>(SQL.byJob, [jobId]);
    return row && versionFromRow(row);
  }

  async get(type: ModelType, version: string): Promise<ModelVersionRecord | undefined> {
    const row = await this.#get<ModelVersionRow>(SQL.get, [type, version]);
    return row && versionFromRow(row);
  }

  /** Newest first. */
  async listVersions(type: ModelType): Promise<ModelVersionRecord[]> {
    return (await storeCall(WHAT, () => this.#q.all<ModelVersionRow>(SQL.list, [type]))).map(versionFromRow);
  }

  async latestVersion(type: ModelType): Promise<string | undefined> {
    return (await this.#get<{ version: string }>(SQL.latest, [type]))?.version;
  }

  async pointers(type: ModelType): Promise<ModelPointers> {
    return pointersFromRow(type, await this.#get<ModelPointerRow>(SQL.pointers, [type]));
  }

  /**
   * Records a version in one transaction. When it is the type's first version it also becomes stable, so
   * a fresh install has something to serve. SQLite takes the transaction IMMEDIATE, so two processes
   * cannot both see "no versions yet"; on Postgres both may, and the stable pointer goes to whichever
   * sets it first (the other's conditional upsert waits for it, then finds stable set).
   */
  insertVersion(rec: ModelVersionRecord): Promise<InsertVersionResult> {
    const r = versionToRow(rec);
    return storeCall(WHAT, () =>
      joinTransaction(this.#q, async (tx): Promise<InsertVersionResult> => {
        if ((await tx.get(SQL.byJob, [r.job_id])) !== undefined) return { inserted: false, conflict: 'job' };
        if ((await tx.get(SQL.get, [r.model_type, r.version])) !== undefined) return { inserted: false, conflict: 'version' };
        const first = ((await tx.get<{ n: number }>(SQL.count, [r.model_type]))?.n ?? 0) === 0;
        const row = [r.model_type, r.version, r.major, r.minor, r.patch, r.job_id, r.digest, r.manifest, r.created_at];
        if ((await tx.run(SQL.insert, row)).changes === 0) {
          // Taken meanwhile by a concurrent transaction (Postgres): report it as the checks above would have.
          return { inserted: false, conflict: (await tx.get(SQL.byJob, [r.job_id])) !== undefined ? 'job' : 'version' };
        }
        if (!first) return { inserted: true, madeStable: false };
        return { inserted: true, madeStable: (await tx.run(SQL.setStableIfUnset, [r.model_type, r.version, r.created_at])).changes > 0 };
      }),
    );
  }

  /** Rewrites a type's pointers (deployments use this; both versions must be registered). */
  async setPointers(p: ModelPointers, nowMs: number): Promise<void> {
    const args = [p.modelType, p.stable, p.canary, p.canaryPercentage, nowMs / 1000];
    await storeCall(WHAT, () => this.#q.run(SQL.setPointers, args));
  }

  #get<T>(sql: string, args: readonly unknown[]): Promise<T | undefined> {
    return storeCall(WHAT, () => this.#q.get<T>(sql, args));
  }
}
