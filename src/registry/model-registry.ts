/**
 * The model registry: versions of each model type, their artifacts under MODEL_REGISTRY_DIR/<type>/<version>/
 * and their rows in the database. A version folder appears whole or not at all: artifacts are copied into
 * a staging folder next to it, fsynced, and renamed into place; the row is written after the rename, and a
 * folder whose row is missing is adopted on the next reconcile (see reconcile.ts).
 */
import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { ModelJobConflict, ModelNotFound, ModelRegisterFailed, ModelRegistryInvalidArgument, TrinityError } from '../errors.js';
import { MODEL_TYPES, type ModelType } from '../model-types.js';
import { ModelsStore } from './models-store.js';
import { ensureDirAsync, PRIVATE_DIR_MODE, writeFileAtomic } from '../util/fs.js';
import { copyArtifacts, syncDir } from './artifacts.js';
import { MANIFEST_NAME, digestOf } from './digest.js';
import { withFolderLock } from './lock.js';
import { buildManifest, checkCounts, checkExtra, checkJobId, checkMetrics } from './manifest.js';
import { emptyReport, reconcileTypeDir, stagingName } from './reconcile.js';
import {
  VERSION_BUMPS,
  type ModelPointers,
  type ModelRegistryLogger,
  type ModelRegistryOptions,
  type ModelTypeSummary,
  type ModelVersionDetails,
  type ModelVersionInfo,
  type ModelVersionRecord,
  type ReconcileReport,
  type RegisterInput,
  type VerifyResult,
  type VersionBump,
} from './types.js';
import { assertModelType, assertVersion, nextVersion } from './version.js';
import { verifyFolder } from './verify.js';

/**
 * Renames that find their version taken (another process got there first) retry with the next number;
 * more than a few collisions in a row means something else is writing into the folder.
 */
const MAX_RENAME_ATTEMPTS = 5;

function isTakenError(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'EEXIST' || code === 'ENOTEMPTY';
}

export class ModelRegistry {
  readonly #store: ModelsStore;
  readonly #modelsDir: string;
  readonly #now: () => number;
  readonly #logger: ModelRegistryLogger | undefined;

  constructor(options: ModelRegistryOptions) {
    const { db, modelsDir, now = Date.now, logger } = options ?? ({} as Partial<ModelRegistryOptions>);
    if (typeof db !== 'object' || db === null) throw ModelRegistryInvalidArgument('option db', 'an open store seam (SqlDb)', typeof db);
    if (typeof modelsDir !== 'string' || modelsDir === '') {
      throw ModelRegistryInvalidArgument('option modelsDir', 'a non-empty path', modelsDir);
    }
    if (typeof now !== 'function') throw ModelRegistryInvalidArgument('option now', 'a function', typeof now);
    this.#store = new ModelsStore(db);
    this.#modelsDir = resolve(modelsDir);
    this.#now = now;
    this.#logger = logger;
  }

  /** The absolute MODEL_REGISTRY_DIR. */
  get modelsDir(): string {
    return this.#modelsDir;
  }

  /**
   * Copies a finished job's artifacts into a new version and records it. The same job id again returns the
   * version it already made (whatever the new arguments say): the job runner may retry after a crash.
   */
  async register(input: RegisterInput): Promise<ModelVersionInfo> {
    const type = assertModelType(input?.modelType);
    const jobId = checkJobId(input.jobId);
    if (typeof input.sourceDir !== 'string' || input.sourceDir === '') {
      throw ModelRegistryInvalidArgument('sourceDir', 'a non-empty path', input.sourceDir);
    }
    const checked: RegisterInput = {
      modelType: type,
      jobId,
      sourceDir: input.sourceDir,
      metrics: checkMetrics(input.metrics),
      counts: checkCounts(input.counts),
    };
    const bump = input.bump ?? 'patch';
    if (!VERSION_BUMPS.includes(bump)) throw ModelRegistryInvalidArgument('bump', VERSION_BUMPS.join(' or '), bump);
    const extra = checkExtra(input.extra);

    const done = await this.#existingForJob(jobId, type);
    if (done) return done;
    const typeDir = this.#typeDir(type);
    return withFolderLock(typeDir, async () => {
      try {
        return await this.#registerLocked(checked, bump, extra, typeDir);
      } catch (err) {
        if (err instanceof TrinityError) throw err;
        throw ModelRegisterFailed.with({ cause: err }, type, jobId, (err as Error).message);
      }
    });
  }

  async #registerLocked(input: RegisterInput, bump: VersionBump, extra: Record<string, unknown>, typeDir: string): Promise<ModelVersionInfo> {
    const type = input.modelType;
    await ensureDirAsync(typeDir); // a read-only models folder fails as EROFS, not ENOENT
    await syncDir(this.#modelsDir);
    await this.#reconcileLocked(type, emptyReport());
    // A crash between rename and insert left this job's folder behind; reconcile has just adopted it.
    const adopted = await this.#existingForJob(input.jobId, type);
    if (adopted) return adopted;

    const staging = join(typeDir, stagingName(randomBytes(6).toString('hex')));
    await mkdir(staging, { mode: PRIVATE_DIR_MODE });
    try {
      const files = await copyArtifacts(input.sourceDir, staging);
      const digest = digestOf(files);
      for (let attempt = 1; ; attempt++) {
        const version = nextVersion(await this.#store.latestVersion(type), bump);
        const createdAtMs = this.#now();
        const manifest = buildManifest({ input, version, createdAtMs, digest, files, extra });
        await writeFileAtomic(join(staging, MANIFEST_NAME), `${JSON.stringify(manifest, null, 2)}\n`);
        await syncDir(staging);

        const final = join(typeDir, version);
        try {
          await rename(staging, final);
        } catch (err) {
          if (!isTakenError(err) || attempt >= MAX_RENAME_ATTEMPTS) throw err;
          // Another process made this version; its folder may still lack a row, so reconcile first.
          await this.#reconcileLocked(type, emptyReport(), staging);
          continue;
        }
        await syncDir(typeDir);

        const record: ModelVersionRecord = { modelType: type, version, jobId: input.jobId, digest, manifest, createdAtMs };
        const result = await this.#store.insertVersion(record);
        if (result.inserted) return this.#info(record, await this.#store.pointers(type));
        // Another process registered this job (or adopted our folder) between our checks and the insert.
        const existing = await this.#existingForJob(input.jobId, type);
        if (existing) {
          if (existing.version !== version) await rm(final, { recursive: true, force: true });
          return existing;
        }
        if (attempt >= MAX_RENAME_ATTEMPTS) throw new Error(`version ${version} kept being taken`);
        await rename(final, staging);
      }
    } finally {
      await rm(staging, { recursive: true, force: true });
    }
  }

  /**
   * Removes dead registrations' staging folders and adopts (or moves aside) version folders without a row,
   * for every model type. Run at start; register() also does it for its own type.
   */
  async reconcile(): Promise<ReconcileReport> {
    const report = emptyReport();
    for (const type of MODEL_TYPES) {
      await withFolderLock(this.#typeDir(type), () => this.#reconcileLocked(type, report));
    }
    return report;
  }

  #reconcileLocked(type: ModelType, report: ReconcileReport, keep?: string): Promise<ReconcileReport> {
    const ctx = { store: this.#store, type, typeDir: this.#typeDir(type), now: this.#now, logger: this.#logger, keep };
    return reconcileTypeDir(ctx, report);
  }

  /** Every built-in model type, with its pointers and versions (newest first); types without versions too. */
  list(): Promise<ModelTypeSummary[]> {
    return Promise.all(MODEL_TYPES.map((type) => this.summary(type)));
  }

  async summary(type: string): Promise<ModelTypeSummary> {
    const t = assertModelType(type);
    const p = await this.#store.pointers(t);
    const versions = await this.#store.listVersions(t);
    return {
      modelType: t,
      stable: p.stable,
      canary: p.canary,
      canaryPercentage: p.canaryPercentage,
      versions: versions.map((r) => this.#info(r, p)),
    };
  }

  /** Newest first. */
  async listVersions(type: string): Promise<ModelVersionInfo[]> {
    return (await this.summary(type)).versions;
  }

  async has(type: string, version: string): Promise<boolean> {
    return (await this.#store.get(assertModelType(type), assertVersion(version))) !== undefined;
  }

  /** Throws ModelNotFound (404) for a version that is not registered. */
  async get(type: string, version: string): Promise<ModelVersionDetails> {
    const rec = await this.#require(type, version);
    return {
      ...this.#info(rec, await this.#store.pointers(rec.modelType)),
      files: rec.manifest.files,
      manifest: rec.manifest,
      path: this.#versionDir(rec.modelType, rec.version),
    };
  }

  async latest(type: string): Promise<ModelVersionInfo | undefined> {
    return (await this.listVersions(type))[0];
  }

  async stable(type: string): Promise<ModelVersionInfo | undefined> {
    const t = assertModelType(type);
    const p = await this.#store.pointers(t);
    const rec = p.stable === null ? undefined : await this.#store.get(t, p.stable);
    return rec && this.#info(rec, p);
  }

  /** The artifacts folder of a registered version; throws ModelNotFound (404) for any other. */
  async pathOf(type: string, version: string): Promise<string> {
    const rec = await this.#require(type, version);
    return this.#versionDir(rec.modelType, rec.version);
  }

  /** Hashes the version's files again and compares them with what was recorded at registration. */
  async verify(type: string, version: string): Promise<VerifyResult> {
    const rec = await this.#require(type, version);
    return verifyFolder(this.#versionDir(rec.modelType, rec.version), { digest: rec.digest, files: rec.manifest.files });
  }

  async #require(type: string, version: string): Promise<ModelVersionRecord> {
    const t = assertModelType(type);
    const v = assertVersion(version);
    const rec = await this.#store.get(t, v);
    if (rec === undefined) throw ModelNotFound(t, v);
    return rec;
  }

  async #existingForJob(jobId: string, type: ModelType): Promise<ModelVersionInfo | undefined> {
    const rec = await this.#store.findByJob(jobId);
    if (rec === undefined) return undefined;
    if (rec.modelType !== type) throw ModelJobConflict(jobId, rec.modelType, rec.version, type);
    return this.#info(rec, await this.#store.pointers(type));
  }

  #typeDir(type: ModelType): string {
    return join(this.#modelsDir, assertModelType(type));
  }

  /** Both parts are checked by the callers; the containment test guards against a future caller that forgets. */
  #versionDir(type: ModelType, version: string): string {
    const dir = resolve(this.#typeDir(type), assertVersion(version));
    if (dirname(dirname(dir)) !== this.#modelsDir) throw ModelNotFound(type, version);
    return dir;
  }

  #info(rec: ModelVersionRecord, p: ModelPointers): ModelVersionInfo {
    return {
      modelType: rec.modelType,
      version: rec.version,
      createdAt: new Date(rec.createdAtMs).toISOString(),
      jobId: rec.jobId,
      metrics: rec.manifest.metrics,
      experienceCounts: rec.manifest.experience_counts,
      digest: rec.digest,
      status: rec.version === p.stable ? 'stable' : rec.version === p.canary ? 'canary' : 'available',
    };
  }
}
