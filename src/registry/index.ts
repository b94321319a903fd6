/** The model registry's public surface. Other folders import from here only. */
export { ModelRegistry } from './model-registry.js';
export { DIGEST_PREFIX, MANIFEST_NAME, digestOf } from './digest.js';
export { FIRST_VERSION, assertModelType, assertVersion, compareVersionsDesc, isVersion, nextVersion } from './version.js';
export { VERSION_BUMPS, MANIFEST_KEYS } from './types.js';
export type {
  ExperienceCounts,
  ManifestFile,
  ModelManifest,
  ModelMetrics,
  ModelPointers,
  ModelRegistryLogger,
  ModelRegistryOptions,
  ModelTypeSummary,
  ModelVersionDetails,
  ModelVersionInfo,
  ModelVersionRecord,
  ReconcileReport,
  RegisterInput,
  VerifyResult,
  VersionBump,
  VersionStatus,
} from './types.js';
