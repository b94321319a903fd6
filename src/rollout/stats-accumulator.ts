/**
 * Turning prime's cumulative counters into per-deployment counts (docs/prime-protocol.md "outcomes").
 * Between two reads of the same prime instance the difference is new; a new instance's counters are
 * taken as they are, because they began at zero when it started. Pure: the service stores the marks.
 *
 * One refinement the protocol leaves open: an instance seen for the first time that started *before* a
 * deployment (reactor's first read ever, or a wiped database) holds traffic from before that deployment
 * too, and nothing separates the two. For that deployment the first read only sets the mark; the next
 * reads count. An instance started during the deployment (prime restarted) is taken as it is.
 */
import { subtractCounts } from './measure.js';
import type { VersionCounts } from './types.js';

/** One read of `GET {prime}/api/v1/models/stats`, converted. */
export interface PrimeStats {
  instanceId: string;
  /** When that prime process started (ms), when it said so. */
  startedAt: number | null;
  /** model type → version → cumulative counters. */
  models: Readonly<Record<string, Readonly<Record<string, VersionCounts>>>>;
}

/** The last read kept per instance: what the next read is compared with. */
export interface StatsMark {
  instanceId: string;
  models: Readonly<Record<string, Readonly<Record<string, VersionCounts>>>>;
}

export interface Delta {
  modelType: string;
  version: string;
  delta: VersionCounts;
}

export interface DeploymentWindow {
  deploymentId: string;
  modelType: string;
  /** The versions whose outcomes belong to this deployment (its canary and its stable). */
  versions: readonly string[];
  createdAt: number;
}

export interface Attribution {
  deploymentId: string;
  version: string;
  delta: VersionCounts;
}

const isEmpty = (c: VersionCounts) => c.requests + c.errors + c.feedbackSuccess + c.feedbackFailure === 0;

function decreased(cur: VersionCounts, prev: VersionCounts): boolean {
  return cur.requests < prev.requests || cur.errors < prev.errors || cur.feedbackSuccess < prev.feedbackSuccess || cur.feedbackFailure < prev.feedbackFailure;
}

/** What is new since `mark`; `sameInstance` false means the counters were taken as they are. */
export function diffStats(mark: StatsMark | null, stats: PrimeStats): { deltas: Delta[]; sameInstance: boolean } {
  const sameInstance = mark !== null && mark.instanceId === stats.instanceId;
  const deltas: Delta[] = [];
  for (const [modelType, versions] of Object.entries(stats.models)) {
    for (const [version, cur] of Object.entries(versions)) {
      const prev = sameInstance ? mark.models[modelType]?.[version] : undefined;
      // A counter going down within one instance is a prime that reset it: what it says now is all new.
      const delta = prev === undefined || decreased(cur, prev) ? cur : subtractCounts(cur, prev);
      if (!isEmpty(delta)) deltas.push({ modelType, version, delta });
    }
  }
  return { deltas, sameInstance };
}

/** Splits the deltas over the active deployments; see the file comment for instances older than a deployment. */
export function attribute(diff: { deltas: Delta[]; sameInstance: boolean }, stats: PrimeStats, windows: readonly DeploymentWindow[]): Attribution[] {
  const out: Attribution[] = [];
  for (const w of windows) {
    if (!diff.sameInstance && stats.startedAt !== null && stats.startedAt < w.createdAt) continue;
    for (const d of diff.deltas) {
      if (d.modelType === w.modelType && w.versions.includes(d.version)) out.push({ deploymentId: w.deploymentId, version: d.version, delta: d.delta });
    }
  }
  return out;
}

export function markOf(stats: PrimeStats): StatsMark {
  return { instanceId: stats.instanceId, models: stats.models };
}
