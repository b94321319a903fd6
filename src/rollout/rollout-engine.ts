/**
 * The stateful half around the pure controller: it feeds a deployment's stored status and counts to
 * `reconcile`, writes the result (status, events and model pointers) in one transaction, and asks the
 * split pusher to tell prime. Also turns prime's stats reads into per-deployment counts. Every read that
 * leads to a write happens inside the transaction that writes (transaction() below), so the tick loop and
 * HTTP commands never interleave inside one reconcile: SQLite runs one transaction at a time, and on
 * Postgres those reads lock the rows they go on to write.
 */
import type { PrimeStatsWire, SplitRequest } from '../client/index.js';
import type { ModelType } from '../model-types.js';
import { DeploymentsStore, type DeploymentEvent, type DeploymentRecord } from './deployments-store.js';
import { ModelsStore } from '../registry/models-store.js';
import type { Sql, SqlDb } from '../store/sql.js';
import { pointersFor, reconcile } from './controller.js';
import type { SplitPusher } from './split-pusher.js';
import { attribute, diffStats, markOf, type PrimeStats } from './stats-accumulator.js';
import type { Intent, ReconcileResult, RolloutSpec, SplitPointers } from './types.js';
import { decisionData } from './wire.js';

/** A deployment whose status just changed, with the events that recorded it. */
export interface Change {
  spec: RolloutSpec;
  events: DeploymentEvent[];
}

export function statsFromWire(w: PrimeStatsWire): PrimeStats {
  const startedAt = w.started_at ? Date.parse(w.started_at) : NaN;
  const models: Record<string, Record<string, PrimeStats['models'][string][string]>> = {};
  for (const [type, versions] of Object.entries(w.models)) {
    models[type] = {};
    for (const [version, c] of Object.entries(versions)) {
      models[type][version] = { requests: c.requests, errors: c.errors, feedbackSuccess: c.feedback_success, feedbackFailure: c.feedback_failure };
    }
  }
  return { instanceId: w.instance_id, startedAt: Number.isFinite(startedAt) ? startedAt : null, models };
}

export class RolloutEngine {
  /** Deployments, their logs, counts and the prime mark. */
  readonly store: DeploymentsStore;
  /** The model pointers a deployment moves. */
  readonly models: ModelsStore;

  /** Over the service's seam, or (from transaction()) over one transaction's `tx`. */
  constructor(
    q: Sql | SqlDb,
    private readonly pusher: SplitPusher,
  ) {
    this.store = new DeploymentsStore(q);
    this.models = new ModelsStore(q);
  }

  /** Runs `fn` with an engine whose stores share one transaction: its writes commit together or not at all. */
  transaction<T>(fn: (e: RolloutEngine) => Promise<T>): Promise<T> {
    return this.store.transaction((s) => fn(s === this.store ? this : new RolloutEngine(s.sql, this.pusher)));
  }

  /** Adds what prime counted since the last read to the active deployments, and moves the mark. Call inside a transaction. */
  async accumulate(stats: PrimeStats, now: number): Promise<void> {
    const diff = diffStats(await this.store.mark(true), stats);
    // Nothing new from the same prime: no write at all, so an idle tick costs the database nothing.
    if (diff.sameInstance && diff.deltas.length === 0) return;
    const windows = (await this.store.active()).map(({ spec }) => ({
      deploymentId: spec.deploymentId,
      modelType: spec.modelType,
      versions: [spec.modelVersion, spec.previousVersion].filter((v): v is string => v !== null),
      createdAt: spec.createdAt,
    }));
    for (const a of attribute(diff, stats, windows)) await this.store.addCounts(a.deploymentId, a.version, a.delta);
    await this.store.setMark(markOf(stats), now);
  }

  /** Runs the controller for one deployment (read locked, get(id, true)) and writes what changed. Call inside a transaction. */
  async reconcileOne(rec: DeploymentRecord, intents: readonly Intent[], now: number): Promise<Change | null> {
    const { spec } = rec;
    const load = this.pusher.canaryLoad(spec.deploymentId, spec.modelVersion);
    const obs = { counts: await this.store.counts(spec.deploymentId), canaryLoad: load.load, canaryLoadError: load.error, intents };
    return this.write(rec, reconcile(spec, rec.status, obs, now), now);
  }

  /** Persists a controller result: status and events together, then the pointers when they moved. Call inside a transaction. */
  async write(rec: DeploymentRecord, r: ReconcileResult, now: number): Promise<Change | null> {
    if (!r.changed) return null;
    const { spec } = rec;
    const events = await this.store.saveStatus(
      spec.deploymentId,
      r.status,
      r.decisions.map((d) => ({ event: d.event, data: decisionData(spec, r.status, d) })),
    );
    const before = pointersFor(spec, rec.status);
    const after = pointersFor(spec, r.status);
    if (!samePointers(before, after)) await this.setPointers(spec.modelType, after, now);
    return { spec, events };
  }

  setPointers(type: ModelType, p: SplitPointers, now: number): Promise<void> {
    return this.models.setPointers({ modelType: type, stable: p.stable, canary: p.canary, canaryPercentage: p.canaryPercentage }, now);
  }

  /** The split prime should serve for a type now, from the stored pointers and the active deployment. */
  async splitFor(type: ModelType): Promise<SplitRequest> {
    const p = await this.models.pointers(type);
    const active = await this.store.activeFor(type);
    return {
      model_type: type,
      stable: p.stable,
      canary: p.canary,
      canary_percentage: p.canaryPercentage,
      deployment_id: active?.spec.deploymentId ?? null,
    };
  }

  /** Queues the current split of each type for prime. Call after the transaction committed, on the service's engine. */
  async announce(types: Iterable<ModelType>): Promise<void> {
    for (const t of new Set(types)) this.pusher.want(await this.splitFor(t));
  }
}

function samePointers(a: SplitPointers, b: SplitPointers): boolean {
  return a.stable === b.stable && a.canary === b.canary && a.canaryPercentage === b.canaryPercentage;
}
