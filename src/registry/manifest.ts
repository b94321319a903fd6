/** Building manifest.json, reading one back from disk, and checking what register() is handed. */
import { isModelType } from '../model-types.js';
import { ModelRegistryInvalidArgument } from '../errors.js';
import { isVersion } from './version.js';
import {
  MANIFEST_KEYS,
  type ExperienceCounts,
  type ManifestFile,
  type ModelManifest,
  type ModelMetrics,
  type RegisterInput,
} from './types.js';

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Job ids are stored, never used in paths; the cap keeps rows and manifests small. */
const MAX_JOB_ID_LENGTH = 256;

export function checkJobId(jobId: unknown): string {
  if (typeof jobId !== 'string' || jobId.length === 0 || jobId.length > MAX_JOB_ID_LENGTH) {
    throw ModelRegistryInvalidArgument('jobId', `a string of 1-${MAX_JOB_ID_LENGTH} characters`, jobId);
  }
  return jobId;
}

export function checkMetrics(metrics: unknown): ModelMetrics {
  if (!isPlainObject(metrics)) throw ModelRegistryInvalidArgument('metrics', 'an object of numbers', metrics);
  for (const [k, v] of Object.entries(metrics)) {
    if (v !== null && typeof v !== 'number') throw ModelRegistryInvalidArgument(`metrics.${k}`, 'a number or null', v);
  }
  return metrics as ModelMetrics;
}

export function checkCounts(counts: unknown): ExperienceCounts {
  if (!isPlainObject(counts)) throw ModelRegistryInvalidArgument('counts', 'an object of counts', counts);
  for (const [k, v] of Object.entries(counts)) {
    if (!Number.isSafeInteger(v) || (v as number) < 0) {
      throw ModelRegistryInvalidArgument(`counts.${k}`, 'a non-negative integer', v);
    }
  }
  return counts as ExperienceCounts;
}

export function checkExtra(extra: unknown): Record<string, unknown> {
  if (extra === undefined) return {};
  if (!isPlainObject(extra)) throw ModelRegistryInvalidArgument('extra', 'an object', extra);
  const clash = Object.keys(extra).filter((k) => (MANIFEST_KEYS as readonly string[]).includes(k));
  if (clash.length > 0) throw ModelRegistryInvalidArgument('extra', `free of manifest keys (${MANIFEST_KEYS.join(', ')})`, clash);
  return extra;
}

export interface ManifestFields {
  input: RegisterInput;
  version: string;
  createdAtMs: number;
  digest: string;
  files: ManifestFile[];
  extra: Record<string, unknown>;
}

export function buildManifest({ input, version, createdAtMs, digest, files, extra }: ManifestFields): ModelManifest {
  return {
    manifest_version: 1,
    model_type: input.modelType,
    version,
    created_at: new Date(createdAtMs).toISOString(),
    job_id: input.jobId,
    metrics: input.metrics,
    experience_counts: input.counts,
    digest,
    files,
    // Extras last in the file, but they can never override the keys above (checkExtra refuses clashes).
    ...extra,
  };
}

function isManifestFile(v: unknown): v is ManifestFile {
  return (
    isPlainObject(v) &&
    typeof v.path === 'string' &&
    Number.isSafeInteger(v.bytes) &&
    typeof v.sha256 === 'string' &&
    /^[0-9a-f]{64}$/.test(v.sha256)
  );
}

/**
 * Parses a manifest.json found on disk (a folder whose database row was lost). Returns a reason instead of
 * throwing: an unreadable manifest means the folder is quarantined, not that the caller failed.
 */
export function parseManifest(text: string): ModelManifest | string {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    return `not JSON (${(err as Error).message})`;
  }
  if (!isPlainObject(v)) return 'not an object';
  if (v.manifest_version !== 1) return `manifest_version ${JSON.stringify(v.manifest_version)} is not 1`;
  if (!isModelType(v.model_type)) return `model_type ${JSON.stringify(v.model_type)} is unknown`;
  if (!isVersion(v.version)) return `version ${JSON.stringify(v.version)} is not a version`;
  if (typeof v.created_at !== 'string' || Number.isNaN(Date.parse(v.created_at))) return 'created_at is not a date';
  if (typeof v.job_id !== 'string' || v.job_id === '') return 'job_id is missing';
  if (!isPlainObject(v.metrics) || !isPlainObject(v.experience_counts)) return 'metrics or experience_counts is missing';
  if (typeof v.digest !== 'string') return 'digest is missing';
  if (!Array.isArray(v.files) || !v.files.every(isManifestFile)) return 'files is not a list of {path, bytes, sha256}';
  return v as ModelManifest;
}
