/**
 * Putting a model type's folder back in order after a crash. Two things can be left behind:
 *
 * - a staging folder (`.staging-<host>-<pid>-<hex>`) of a registration that died before its rename: removed
 *   once its process is gone; it never counted as a version;
 * - a complete version folder without a database row (the process died between the rename and the insert):
 *   adopted when its manifest is valid and its files match their digest, so the job's retried registration
 *   finds it; otherwise renamed to `.orphan-<version>-<ms>` and kept for a person to look at.
 *
 * Callers hold the folder lock (lock.ts), so the only staging folder of this process in use meanwhile is
 * the caller's own (`keep`).
 */
import { readdir, readFile, rename, rm } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { ModelType } from '../model-types.js';
import type { ModelsStore } from './models-store.js';
import { MANIFEST_NAME } from './digest.js';
import { parseManifest } from './manifest.js';
import type { ModelRegistryLogger, ReconcileReport } from './types.js';
import { isVersion } from './version.js';
import { verifyFolder } from './verify.js';

export const STAGING_PREFIX = '.staging-';
const STAGING_RE = /^\.staging-([A-Za-z0-9]*)-(\d+)-[0-9a-f]+$/;
/**
 * The host is part of the name because MODEL_REGISTRY_DIR may be shared by workers on several machines
 * (DESIGN "Scale-out"): a pid means nothing on another host, so only this host's dead staging is removed.
 */
const HOST = hostname().replace(/[^A-Za-z0-9]/g, '');

export function stagingName(random: string): string {
  return `${STAGING_PREFIX}${HOST}-${process.pid}-${random}`;
}

function isProcessAlive(pid: number): boolean {
  // Ours: the lock means the caller's own folder (kept separately) is the only one in use.
  if (pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export interface ReconcileContext {
  store: ModelsStore;
  type: ModelType;
  typeDir: string;
  now: () => number;
  logger?: ModelRegistryLogger;
  /** The caller's own staging folder, in use: never removed. */
  keep?: string;
}

export function emptyReport(): ReconcileReport {
  return { removedStaging: [], adopted: [], quarantined: [] };
}

export async function reconcileTypeDir(ctx: ReconcileContext, report: ReconcileReport = emptyReport()): Promise<ReconcileReport> {
  const entries = await readdir(ctx.typeDir, { withFileTypes: true }).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return [];
    throw err;
  });
  for (const e of entries) {
    const path = join(ctx.typeDir, e.name);
    const staging = STAGING_RE.exec(e.name);
    if (staging !== null) {
      if (path === ctx.keep || staging[1] !== HOST || isProcessAlive(Number(staging[2]))) continue;
      await rm(path, { recursive: true, force: true });
      report.removedStaging.push(path);
    } else if (e.isDirectory() && isVersion(e.name) && (await ctx.store.get(ctx.type, e.name)) === undefined) {
      await adoptOrQuarantine(ctx, e.name, path, report);
    }
  }
  return report;
}

async function adoptOrQuarantine(ctx: ReconcileContext, version: string, dir: string, report: ReconcileReport): Promise<void> {
  const reason = await adopt(ctx, version, dir);
  if (reason === false) return;
  if (reason === true) {
    report.adopted.push(dir);
    ctx.logger?.warn({ model_type: ctx.type, version, dir }, 'adopted a version folder that had no database row');
    return;
  }
  const aside = join(ctx.typeDir, `.orphan-${version}-${ctx.now()}`);
  await rename(dir, aside);
  report.quarantined.push(aside);
  ctx.logger?.warn({ model_type: ctx.type, version, dir: aside, reason }, 'moved aside a version folder that cannot be registered');
}

/**
 * Registers a row-less version folder. Returns true when adopted, false when another process registered it
 * meanwhile (leave it alone: it is a live version now), or why it cannot be registered.
 */
async function adopt(ctx: ReconcileContext, version: string, dir: string): Promise<boolean | string> {
  const text = await readFile(join(dir, MANIFEST_NAME), 'utf8').catch(() => null);
  if (text === null) return `${MANIFEST_NAME} is missing`;
  const manifest = parseManifest(text);
  if (typeof manifest === 'string') return `${MANIFEST_NAME}: ${manifest}`;
  if (manifest.model_type !== ctx.type || manifest.version !== version) {
    return `${MANIFEST_NAME} names ${manifest.model_type} ${manifest.version}`;
  }
  const check = await verifyFolder(dir, manifest);
  if (!check.ok) return check.problems.join('; ');
  const result = await ctx.store.insertVersion({
    modelType: ctx.type,
    version,
    jobId: manifest.job_id,
    digest: manifest.digest,
    manifest,
    createdAtMs: Date.parse(manifest.created_at),
  });
  if (result.inserted) return true;
  if (result.conflict === 'version') return false;
  return `job ${manifest.job_id} already registered another version`;
}
