/**
 * Hot swap: the routing tables and the versions they hold. Applying a split loads, verifies and warms
 * every version the table lacks BEFORE switching; the switch itself is one Map write, so a request sees
 * either the old table or the new one. Versions the new table drops are retired and disposed once the
 * requests that hold them finish. Swaps of one model type run one at a time (a queue per type); types
 * swap independently.
 */
import { ServingClosed, ServingInvalidSplit, ServingLoadFailed, TrinityError } from '../errors.js';
import { isModelType, type ModelType } from '../model-types.js';
import { isVersion } from '../registry/index.js';
import type { CounterBook } from './counters.js';
import { LoadedVersion } from './loaded-version.js';
import { createTable, toView, versionsOf, type RoutingTable } from './routing-table.js';
import type { ApplyMode, LoadFailure, ServingLogger, SplitSpec, SplitView } from './types.js';
import { loadVerifiedPredictor } from './version-loader.js';

export interface HotSwapOptions {
  modelsDir: string;
  counters: CounterBook;
  logger?: ServingLogger;
  failedRetryMs: number;
  failureVisibleMs: number;
  now: () => number;
}

interface FailureRecord extends LoadFailure {
  atMs: number;
}

/** Checks a split and brings it to one form: no canary equal to stable, percentage 0 without a canary. */
export function normalizeSpec(spec: SplitSpec): SplitSpec {
  if (!isModelType(spec.modelType)) throw ServingInvalidSplit(`model_type must be a model type, got ${JSON.stringify(spec.modelType)}`);
  for (const field of ['stable', 'canary'] as const) {
    const v = spec[field];
    if (v !== null && !isVersion(v)) throw ServingInvalidSplit(`${field} must be a version like v1.2.3 or null, got ${JSON.stringify(v)}`);
  }
  const p = spec.canaryPercentage;
  if (typeof p !== 'number' || !Number.isFinite(p) || p < 0 || p > 100) {
    throw ServingInvalidSplit(`canary_percentage must be a number 0-100, got ${JSON.stringify(p)}`);
  }
  const canary = spec.canary === spec.stable ? null : spec.canary;
  return { ...spec, canary, canaryPercentage: canary === null ? 0 : p };
}

function sameRouting(t: RoutingTable | undefined, s: SplitSpec): boolean {
  if (!t) return s.stable === null && s.canary === null;
  return (t.stable?.version ?? null) === s.stable && (t.canary?.version ?? null) === s.canary && t.canaryPercentage === s.canaryPercentage;
}

export class HotSwap {
  private readonly tables = new Map<ModelType, RoutingTable>();
  private readonly queues = new Map<ModelType, Promise<unknown>>();
  private readonly failures = new Map<string, FailureRecord>();
  /** Per type, the version each queued or running swap brings (its stable, else its canary); none when it serves nothing. */
  private readonly pending = new Map<ModelType, string[]>();
  private closed = false;

  constructor(private readonly opts: HotSwapOptions) {}

  /** The table a request routes with (the hot path: one Map read). */
  table(modelType: string): RoutingTable | undefined {
    return this.tables.get(modelType as ModelType);
  }

  views(): SplitView[] {
    return [...this.tables.values()].map(toView);
  }

  /** Versions that failed to load recently and have not loaded since. */
  recentFailures(): LoadFailure[] {
    const cutoff = this.opts.now() - this.opts.failureVisibleMs;
    const out: LoadFailure[] = [];
    for (const [key, f] of this.failures) {
      if (f.atMs < cutoff) this.failures.delete(key);
      else out.push({ modelType: f.modelType, version: f.version, error: f.error, at: f.at });
    }
    return out;
  }

  /**
   * A version a queued or running swap of `modelType` is loading, when the type has no table yet: its
   * requests are then "loading, retry", not "nothing deployed". Off the hot path (only asked on a miss).
   */
  loadingVersion(modelType: string): string | undefined {
    if (this.tables.has(modelType as ModelType)) return undefined;
    const versions = this.pending.get(modelType as ModelType);
    return versions?.[versions.length - 1];
  }

  /** Applies a split once every swap of that type queued before it has finished. */
  async apply(spec: SplitSpec, mode: ApplyMode): Promise<SplitView> {
    const s = normalizeSpec(spec);
    const wanted = s.stable ?? s.canary;
    if (wanted !== null) this.pending.set(s.modelType, [...(this.pending.get(s.modelType) ?? []), wanted]);
    const prev = this.queues.get(s.modelType) ?? Promise.resolve();
    const next = prev
      .catch(() => undefined)
      .then(() => this.applyNow(s, mode))
      .finally(() => {
        if (wanted !== null) this.settled(s.modelType, wanted);
      });
    this.queues.set(s.modelType, next);
    return next;
  }

  private settled(type: ModelType, version: string): void {
    const versions = this.pending.get(type) ?? [];
    const i = versions.indexOf(version);
    if (i >= 0) versions.splice(i, 1);
    if (versions.length === 0) this.pending.delete(type);
  }

  private async applyNow(spec: SplitSpec, mode: ApplyMode): Promise<SplitView> {
    if (this.closed) throw ServingClosed();
    const type = spec.modelType;
    const current = this.tables.get(type);
    const deploymentId = spec.deploymentId === undefined ? (current?.deploymentId ?? null) : spec.deploymentId;
    if (sameRouting(current, spec)) return this.keep(current, type, deploymentId);

    const held = new Map(versionsOf(current).map((v) => [v.version, v]));
    const fresh: LoadedVersion[] = [];
    const failed: TrinityError[] = [];
    const obtain = async (version: string | null): Promise<LoadedVersion | null> => {
      if (version === null) return null;
      const have = held.get(version);
      if (have) return have;
      try {
        const lv = await this.load(type, version, spec.expectedDigests?.[version], mode);
        fresh.push(lv);
        return lv;
      } catch (err) {
        if (!(err instanceof TrinityError)) throw err;
        failed.push(err);
        return null;
      }
    };
    const stable = await obtain(spec.stable);
    const canary = await obtain(spec.canary);
    const stableOk = spec.stable === null || stable !== null;
    const canaryOk = spec.canary === null || canary !== null;

    let target: SplitSpec | undefined;
    if (stableOk && canaryOk) target = spec;
    // A reconcile still applies the stable part when only the canary failed: the canary gets 0 %.
    else if (mode === 'reconcile' && stableOk) target = { ...spec, canary: null, canaryPercentage: 0 };
    if (target === undefined || this.closed) {
      for (const lv of fresh) lv.retire();
      if (this.closed) throw ServingClosed();
      if (mode === 'strict') throw failed[0];
      return current ? toView(current) : emptyView(type);
    }
    if (sameRouting(current, target)) {
      for (const lv of fresh) lv.retire();
      return this.keep(current, type, deploymentId);
    }
    const next = createTable(type, stable, target.canary === null ? null : canary, target.canaryPercentage, deploymentId, new Date(this.opts.now()).toISOString());
    // The switch: from here on every new request routes with `next`.
    if (next.stable === null && next.canary === null) this.tables.delete(type);
    else this.tables.set(type, next);
    for (const lv of [...held.values(), ...fresh]) if (lv !== next.stable && lv !== next.canary) lv.retire();
    this.opts.logger?.info({ model_type: type, from: current ? toView(current) : null, to: toView(next), mode }, 'routing table switched');
    return toView(next);
  }

  /** Same routing: only a new deployment id is taken over; the applied time stays (nothing was switched). */
  private keep(current: RoutingTable | undefined, type: ModelType, deploymentId: string | null): SplitView {
    if (!current) return emptyView(type);
    if (deploymentId === current.deploymentId) return toView(current);
    const next = createTable(type, current.stable, current.canary, current.canaryPercentage, deploymentId, current.appliedAt);
    this.tables.set(type, next);
    return toView(next);
  }

  private async load(type: ModelType, version: string, expectedDigest: string | undefined, mode: ApplyMode): Promise<LoadedVersion> {
    const key = `${type}/${version}`;
    const now = this.opts.now();
    const prior = this.failures.get(key);
    if (mode === 'reconcile' && prior && now - prior.atMs < this.opts.failedRetryMs) {
      throw ServingLoadFailed.with({ version, details: prior.error }, type, version, `${prior.error} (failed at ${prior.at}; retried later)`);
    }
    try {
      const { predictor, digest } = await loadVerifiedPredictor(this.opts.modelsDir, type, version, expectedDigest, this.opts.logger);
      this.failures.delete(key);
      this.opts.logger?.info({ model_type: type, version, digest }, 'version loaded and warmed');
      return new LoadedVersion(type, version, digest, predictor, this.opts.counters.of(type, version));
    } catch (err) {
      const error = err instanceof TrinityError && typeof err.extra.details === 'string' ? err.extra.details : (err as Error).message;
      const at = this.opts.now();
      this.failures.set(key, { modelType: type, version, error, at: new Date(at).toISOString(), atMs: at });
      this.opts.logger?.warn({ model_type: type, version, error, mode }, 'version failed to load; it gets no traffic');
      throw err;
    }
  }

  /** Waits for queued swaps, then disposes every version (in-flight requests keep theirs until done). */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.allSettled([...this.queues.values()]);
    for (const t of this.tables.values()) for (const lv of versionsOf(t)) lv.retire();
    this.tables.clear();
  }
}

function emptyView(modelType: ModelType): SplitView {
  return { modelType, stable: null, canary: null, canaryPercentage: 0, deploymentId: null, appliedAt: null };
}
