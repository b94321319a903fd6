/** Options, inputs, records and results of the model registry. The manifest is a file format: snake_case. */
import type { ModelType } from '../model-types.js';
import type { SqlDb } from '../store/sql.js';

/** Which part of the version a registration raises. */
export type VersionBump = 'patch' | 'minor' | 'major';
export const VERSION_BUMPS: readonly VersionBump[] = ['patch', 'minor', 'major'];

/** Final metrics of the job (loss, accuracy, val_loss, val_accuracy, …). Non-finite numbers read back as null. */
export type ModelMetrics = Readonly<Record<string, number | null>>;
/** How many experiences the job saw, e.g. `{train, validation, total}`; non-negative integers. */
export type ExperienceCounts = Readonly<Record<string, number>>;

/** Where a version stands in serving. `available` means registered but receiving no traffic. */
export type VersionStatus = 'stable' | 'canary' | 'available';

export interface ModelRegistryLogger {
  warn(obj: Record<string, unknown>, msg: string): void;
}

export interface ModelRegistryOptions {
  /** The service's store seam (src/store/sql.ts) over a migrated database. */
  db: SqlDb;
  /** MODEL_REGISTRY_DIR (config.paths.models). Created on first registration, 0700. */
  modelsDir: string;
  /** Receives reconcile decisions (orphans adopted or quarantined). Default: none. */
  logger?: ModelRegistryLogger;
  /** Clock in milliseconds since the epoch. Default: Date.now. */
  now?: () => number;
}

export interface RegisterInput {
  modelType: ModelType;
  /** The training job; registering the same job again returns the version it already made. */
  jobId: string;
  /** Folder with the exported artifacts (regular files and folders only). Copied, never moved. */
  sourceDir: string;
  metrics: ModelMetrics;
  counts: ExperienceCounts;
  /**
   * Default `patch` (a new training run). `minor` when the architecture or featuriser changes, `major` when
   * the input contract changes. The first version of a type is always v1.0.0.
   */
  bump?: VersionBump;
  /** More manifest fields (architecture, trainer options…); must not reuse a manifest key. Default: none. */
  extra?: Readonly<Record<string, unknown>>;
}

export interface ManifestFile {
  /** Relative, `/`-separated. */
  path: string;
  bytes: number;
  /** Hex SHA-256 of the content. */
  sha256: string;
}

/** The keys the registry writes into manifest.json; `extra` may not use them. */
export const MANIFEST_KEYS = [
  'manifest_version',
  'model_type',
  'version',
  'created_at',
  'job_id',
  'metrics',
  'experience_counts',
  'digest',
  'files',
] as const;

/** manifest.json in every version folder. */
export interface ModelManifest {
  /** Format of this file; 1 for now. */
  manifest_version: 1;
  model_type: ModelType;
  version: string;
  /** ISO 8601. */
  created_at: string;
  job_id: string;
  metrics: ModelMetrics;
  experience_counts: ExperienceCounts;
  /** `sha256:<hex>` over the artifact files; see digest.ts for the exact recipe. */
  digest: string;
  files: ManifestFile[];
  [extra: string]: unknown;
}

/** A stored version, as the store hands it over. */
export interface ModelVersionRecord {
  modelType: ModelType;
  version: string;
  jobId: string;
  digest: string;
  manifest: ModelManifest;
  /** Milliseconds since the epoch. */
  createdAtMs: number;
}

/** What points at which version of a type. */
export interface ModelPointers {
  modelType: ModelType;
  stable: string | null;
  canary: string | null;
  /** 0–100. */
  canaryPercentage: number;
}

/** One version as listings show it. */
export interface ModelVersionInfo {
  modelType: ModelType;
  version: string;
  /** ISO 8601. */
  createdAt: string;
  jobId: string;
  metrics: ModelMetrics;
  experienceCounts: ExperienceCounts;
  digest: string;
  status: VersionStatus;
}

/** One version with its files and the whole manifest. */
export interface ModelVersionDetails extends ModelVersionInfo {
  files: ManifestFile[];
  manifest: ModelManifest;
  /** Absolute folder of the artifacts. */
  path: string;
}

/** Everything about one model type; `versions` newest first. */
export interface ModelTypeSummary {
  modelType: ModelType;
  stable: string | null;
  canary: string | null;
  canaryPercentage: number;
  versions: ModelVersionInfo[];
}

export interface VerifyResult {
  ok: boolean;
  /** The digest recorded at registration. */
  expected: string;
  /** The digest of the files as they are now (`null` when the folder is gone). */
  actual: string | null;
  /** Each difference found, e.g. "model.json: sha256 differs". Empty when ok. */
  problems: string[];
}

/** What a reconcile pass did in the models folder. */
export interface ReconcileReport {
  /** Temporary folders of registrations that died, removed. */
  removedStaging: string[];
  /** Complete version folders without a database row (a crash after the rename), now registered. */
  adopted: string[];
  /** Version folders without a row that failed verification, renamed to `.orphan-…` for inspection. */
  quarantined: string[];
}
