/**
 * Version names and model types checked before any path is built from them. Versions are `v` + plain
 * semver without prerelease or build parts, so a version is always a safe single folder name.
 */
import semver from 'semver';
import { ModelInvalidVersion, ModelUnknownType } from '../errors.js';
import { MODEL_TYPES, isModelType, type ModelType } from '../model-types.js';
import type { VersionBump } from './types.js';

const VERSION_RE = /^v(\d+)\.(\d+)\.(\d+)$/;
/** Longer names are not versions we make; capping the length keeps error messages and folder names small. */
const MAX_VERSION_LENGTH = 32;

export const FIRST_VERSION = 'v1.0.0';

export interface VersionParts {
  major: number;
  minor: number;
  patch: number;
}

export function isVersion(v: unknown): v is string {
  return typeof v === 'string' && v.length <= MAX_VERSION_LENGTH && VERSION_RE.test(v) && semver.valid(v.slice(1)) !== null;
}

/** Returns the version unchanged, or throws ModelInvalidVersion (400). */
export function assertVersion(v: unknown): string {
  if (!isVersion(v)) throw ModelInvalidVersion(v);
  return v;
}

/** Returns the model type unchanged, or throws ModelUnknownType (400). */
export function assertModelType(v: unknown): ModelType {
  if (!isModelType(v)) throw ModelUnknownType(v, MODEL_TYPES.join(', '));
  return v;
}

export function versionParts(v: string): VersionParts {
  const parsed = semver.parse(assertVersion(v).slice(1));
  // assertVersion has already proved it parses; the check only narrows the type.
  if (parsed === null) throw ModelInvalidVersion(v);
  return { major: parsed.major, minor: parsed.minor, patch: parsed.patch };
}

/** The version after `current` (v1.0.0 when there is none yet). */
export function nextVersion(current: string | undefined, bump: VersionBump = 'patch'): string {
  if (current === undefined) return FIRST_VERSION;
  const next = semver.inc(assertVersion(current).slice(1), bump);
  if (next === null) throw ModelInvalidVersion(current);
  return `v${next}`;
}

/** Sort comparator, newest first. */
export function compareVersionsDesc(a: string, b: string): number {
  return semver.rcompare(assertVersion(a).slice(1), assertVersion(b).slice(1));
}
