/**
 * Where `POST /api/models/rollback` goes when it names no version: the stable before the current one,
 * that is the version the deployment that made the current stable started from; failing that (the
 * stable came from registration or an earlier rollback with no record), the newest registered version
 * older than the current stable.
 */
import type { ModelType } from '../model-types.js';
import { compareVersionsDesc, type ModelRegistry } from '../registry/index.js';
import type { DeploymentsStore } from './deployments-store.js';

export async function previousStable(store: DeploymentsStore, registry: ModelRegistry, type: ModelType, stable: string | null): Promise<string | null> {
  if (stable === null) return null;
  const made = (await store.lastCompletedAs(type, stable))?.spec.previousVersion;
  if (made != null && made !== stable && (await registry.has(type, made))) return made;
  const older = (await registry.listVersions(type)).find((v) => compareVersionsDesc(v.version, stable) > 0);
  return older?.version ?? null;
}
