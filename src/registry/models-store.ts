/**
 * The model registry's tables (`model_versions`, `model_pointers`). Only this module knows their SQL and
 * row shapes; the registry sees ModelVersionRecord and ModelPointers.
 */
import { StoreFailed, TrinityError } from '../errors.js';
import { isModelType, type ModelType } from '../model-types.js';
import type { ModelManifest, ModelPointers, ModelVersionRecord } from './types.js';
import type { Db } from '../store/database.js';

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

const SQL = {
  byJob: 'SELECT * FROM model_versions WHERE job_id = ?',
  get: 'SELECT * FROM model_versions WHERE model_type = ? AND version = ?',
  list: 'SELECT * FROM model_versions WHERE model_type = ? ORDER BY major DESC, minor DESC, patch DESC',
  latest: 'SELECT version FROM model_versions WHERE model_type = ? ORDER BY major DESC, minor DESC, patch DESC LIMIT 1',
  count: 'SELECT COUNT(*) AS n FROM model_versions WHERE model_type = ?',
  insert: `INSERT INTO model_versions (model_type, version, major, minor, patch, job_id, digest, manifest, created_at)
           VALUES (@model_type, @version, @major, @minor, @patch, @job_id, @digest, @manifest, @created_at)`,
  pointers: 'SELECT * FROM model_pointers WHERE model_type = ?',
  setStableIfUnset: `INSERT INTO model_pointers (model_type, stable, canary, canary_percentage, updated_at)
                     VALUES (?, ?, NULL, 0, ?)
                     ON CONFLICT (model_type) DO UPDATE SET stable = excluded.stable, updated_at = excluded.updated_at
                     WHERE model_pointers.stable IS NULL`,
  setPointers: `INSERT INTO model_pointers (model_type, stable, canary, canary_percentage, updated_at)
                VALUES (@model_type, @stable, @canary, @canary_percentage, @updated_at)
                ON CONFLICT (model_type) DO UPDATE SET stable = excluded.stable, canary = excluded.canary,
                  canary_percentage = excluded.canary_percentage, updated_at = excluded.updated_at`,
} as const;

function prepare(db: Db) {
  return {
    byJob: db.prepare<[string], ModelVersionRow>(SQL.byJob),
    get: db.prepare<[string, string], ModelVersionRow>(SQL.get),
    list: db.prepare<[string], ModelVersionRow>(SQL.list),
    latest: db.prepare<[string], { version: string }>(SQL.latest),
    count: db.prepare<[string], { n: number }>(SQL.count),
    insert: db.prepare<[ModelVersionRow]>(SQL.insert),
    pointers: db.prepare<[string], ModelPointerRow>(SQL.pointers),
    setStableIfUnset: db.prepare<[string, string, number]>(SQL.setStableIfUnset),
    setPointers: db.prepare<[ModelPointerRow]>(SQL.setPointers),
  };
}

export class ModelsStore {
  readonly #db: Db;
  readonly #stmt: ReturnType<typeof prepare>;

  /** The database must be migrated (openDatabase does it). */
  constructor(db: Db) {
    this.#db = db;
    this.#stmt = this.#run(() => prepare(db));
  }

  findByJob(jobId: string): ModelVersionRecord | undefined {
    const row = this.#run(() => this.#stmt.byJob.get(jobId));
    return row && versionFromRow(row);
  }

  get(type: ModelType, version: string): ModelVersionRecord | undefined {
    const row = this.#run(() => this.#stmt.get.get(type, version));
    return row && versionFromRow(row);
  }

  /** Newest first. */
  listVersions(type: ModelType): ModelVersionRecord[] {
    return this.#run(() => this.#stmt.list.all(type)).map(versionFromRow);
  }

  latestVersion(type: ModelType): string | undefined {
    return this.#run(() => this.#stmt.latest.get(type))?.version;
  }

  pointers(type: ModelType): ModelPointers {
    return pointersFromRow(type, this.#run(() => this.#stmt.pointers.get(type)));
  }

  /**
   * Records a version in one transaction. When it is the type's first version it also becomes stable, so
   * a fresh install has something to serve. Taken as an IMMEDIATE transaction so two processes cannot
   * both see "no versions yet".
   */
  insertVersion(rec: ModelVersionRecord): InsertVersionResult {
    const row = versionToRow(rec);
    const s = this.#stmt;
    const tx = this.#db.transaction((): InsertVersionResult => {
      if (s.byJob.get(row.job_id) !== undefined) return { inserted: false, conflict: 'job' };
      if (s.get.get(row.model_type, row.version) !== undefined) return { inserted: false, conflict: 'version' };
      const first = (s.count.get(row.model_type)?.n ?? 0) === 0;
      s.insert.run(row);
      if (!first) return { inserted: true, madeStable: false };
      return { inserted: true, madeStable: s.setStableIfUnset.run(row.model_type, row.version, row.created_at).changes > 0 };
    });
    return this.#run(() => tx.immediate());
  }

  /** Rewrites a type's pointers (deployments use this; both versions must be registered). */
  setPointers(p: ModelPointers, nowMs: number): void {
    const row: ModelPointerRow = {
      model_type: p.modelType,
      stable: p.stable,
      canary: p.canary,
      canary_percentage: p.canaryPercentage,
      updated_at: nowMs / 1000,
    };
    this.#run(() => this.#stmt.setPointers.run(row));
  }

  /** Driver errors get the project's code, with the original kept as cause. */
  #run<T>(fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      if (err instanceof TrinityError) throw err;
      throw StoreFailed.with({ cause: err }, `model registry: ${(err as Error).message}`);
    }
  }
}
