/**
 * One model type's routing table: an immutable value swapped as a whole, so a request that read it at its
 * start routes with one consistent {stable, canary, percentage} whatever swaps happen meanwhile.
 */
import type { ModelType } from '../model-types.js';
import type { LoadedVersion } from './loaded-version.js';
import { ROUTING_BUCKETS, canaryBucketLimit, sessionBucket } from './session-hash.js';
import type { SplitView } from './types.js';

export interface RoutingTable {
  readonly modelType: ModelType;
  readonly stable: LoadedVersion | null;
  readonly canary: LoadedVersion | null;
  /** 0 whenever there is no canary. */
  readonly canaryPercentage: number;
  /** Buckets (of ROUTING_BUCKETS) that go to the canary. */
  readonly canaryBuckets: number;
  readonly deploymentId: string | null;
  readonly appliedAt: string;
}

export function createTable(
  modelType: ModelType,
  stable: LoadedVersion | null,
  canary: LoadedVersion | null,
  canaryPercentage: number,
  deploymentId: string | null,
  appliedAt: string,
): RoutingTable {
  const pct = canary ? canaryPercentage : 0;
  return Object.freeze({ modelType, stable, canary, canaryPercentage: pct, canaryBuckets: canaryBucketLimit(pct), deploymentId, appliedAt });
}

/**
 * The version a request is served by. With a session id the choice is sticky (its hash bucket); without
 * one it is drawn per request. With no stable version every request goes to the canary: serving it beats
 * failing the rest. Null when the table serves nothing.
 */
export function chooseVersion(table: RoutingTable, sessionId: string | undefined, random: () => number): LoadedVersion | null {
  const { stable, canary } = table;
  if (canary === null) return stable;
  if (stable === null) return canary;
  if (table.canaryBuckets <= 0) return stable;
  const bucket = sessionId === undefined ? Math.floor(random() * ROUTING_BUCKETS) : sessionBucket(table.modelType, sessionId);
  return bucket < table.canaryBuckets ? canary : stable;
}

export function toView(t: RoutingTable): SplitView {
  return {
    modelType: t.modelType,
    stable: t.stable?.version ?? null,
    canary: t.canary?.version ?? null,
    canaryPercentage: t.canaryPercentage,
    deploymentId: t.deploymentId,
    appliedAt: t.appliedAt,
  };
}

/** The versions a table holds, stable first. */
export function versionsOf(t: RoutingTable | undefined): LoadedVersion[] {
  if (!t) return [];
  const out: LoadedVersion[] = [];
  if (t.stable) out.push(t.stable);
  if (t.canary && t.canary !== t.stable) out.push(t.canary);
  return out;
}
