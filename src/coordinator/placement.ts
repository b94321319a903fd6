/**
 * Local or cloud (COST_AWARE_TRAINING): a job whose data is larger than LOCAL_TRAINING_MAX_SIZE_MB (and at
 * least CLOUD_TRAINING_MIN_SIZE_MB) goes to the second reactor at REACTOR_CLOUD_API_URL when one is set
 * (old setups; GCP_TRAINING_ENABLED must be on), else to a pool of `trinity worker`s that are alive on the
 * reactor's database, gpu before cloud; otherwise it runs locally, with a warning when it is too large.
 * Pure: the decision and its reason are recorded on the job.
 */
import type { WorkerPool } from '../worker-pools.js';
import type { Placement } from './types.js';

/** Pools a large job may go to, best first. */
const LARGE_JOB_POOLS: readonly WorkerPool[] = ['gpu', 'cloud'];

export interface PlacementPolicy {
  costAware: boolean;
  localMaxSizeMb: number;
  cloudMinSizeMb: number;
  gcpEnabled: boolean;
  localUrl: string;
  cloudUrl: string | undefined;
}

export interface DataSize {
  mb: number;
  /** How the size was estimated, e.g. "1200 usable × 1.1 KB". */
  basis: string;
}

/** Used until jarvis has forwarded an experience of the type and knows their real size. */
export const DEFAULT_EXPERIENCE_BYTES = 1024;
const MB = 1024 * 1024;

const mb = (n: number) => (n >= 10 ? String(Math.round(n)) : String(Math.round(n * 1000) / 1000));

/**
 * Reactor trains on its whole buffer of the type, so the size is its usable count times the average
 * size of the experiences jarvis forwarded of that type.
 */
export function estimateDataSize(usable: number | undefined, forwarded: { experiences: number; bytes: number }): DataSize {
  const avg = forwarded.experiences > 0 ? forwarded.bytes / forwarded.experiences : DEFAULT_EXPERIENCE_BYTES;
  const count = usable ?? forwarded.experiences;
  const what = usable === undefined ? 'forwarded' : 'usable';
  const avgText = forwarded.experiences > 0 ? `${Math.round(avg / 102.4) / 10} KB` : `${DEFAULT_EXPERIENCE_BYTES / 1024} KB assumed`;
  return { mb: (count * avg) / MB, basis: `${count} ${what} × ${avgText}` };
}

/** `livePools`: live runners per pool, as reactor's GET /api/training/workers counts them. */
export function decidePlacement(p: PlacementPolicy, size: DataSize, livePools: Readonly<Record<string, number>> = {}): Placement {
  const data = `${mb(size.mb)} MB (${size.basis})`;
  const local = (reason: string, warning?: string): Placement => ({
    target: 'local',
    reactor_url: p.localUrl,
    data_size_mb: size.mb,
    reason,
    ...(warning ? { warning } : {}),
  });
  if (!p.costAware) return local(`COST_AWARE_TRAINING is off: local, data ${data}`);
  if (size.mb <= p.localMaxSizeMb) return local(`data ${data} ≤ LOCAL_TRAINING_MAX_SIZE_MB ${p.localMaxSizeMb}: local`);
  const over = `data ${data} > LOCAL_TRAINING_MAX_SIZE_MB ${p.localMaxSizeMb}`;
  if (size.mb < p.cloudMinSizeMb) {
    return local(`${over} but < CLOUD_TRAINING_MIN_SIZE_MB ${p.cloudMinSizeMb}: local`, `${over}; training locally`);
  }
  if (p.cloudUrl === undefined) {
    const pool = LARGE_JOB_POOLS.find((name) => (livePools[name] ?? 0) > 0);
    if (pool !== undefined) {
      return { target: 'cloud', pool, reactor_url: p.localUrl, data_size_mb: size.mb, reason: `${over}: worker pool ${pool} (${livePools[pool]} live)` };
    }
    return local(
      `${over}; REACTOR_CLOUD_API_URL is not set and no gpu or cloud worker is alive: local`,
      `${over} but no cloud reactor is configured and no gpu or cloud worker runs (trinity worker --pool cloud); training locally`,
    );
  }
  if (!p.gcpEnabled) return local(`${over}; GCP_TRAINING_ENABLED is off: local`, `${over} but GCP_TRAINING_ENABLED is off; training locally`);
  return { target: 'cloud', reactor_url: p.cloudUrl, data_size_mb: size.mb, reason: `${over}: cloud reactor ${p.cloudUrl}` };
}
