/**
 * Reactor's deployments (CONTRACT §3, issue 4): deploy with any strategy behind the accuracy gate, one
 * active deployment per model type, operator commands, rollback, and a controller loop that every tick
 * reads prime's counters, runs the pure controller for each active deployment and pushes changed splits
 * to prime. All state is in the database, so a restarted reactor continues each rollout at its step.
 */
import { EventEmitter } from 'node:events';
import { randomBytes } from 'node:crypto';
import { DeployActive, DeployFinished, DeployIdConflict, DeployInvalidOption, DeployNoRollbackTarget, DeployNotFound, HttpNotReady } from '../errors.js';
import type { ModelType } from '../model-types.js';
import type { ModelRegistry } from '../registry/index.js';
import type { DeploymentEvent, DeploymentFilter, DeploymentsStore } from './deployments-store.js';
import { initialStatus, intentEffect, pointersFor, rollbackByOperator } from './controller.js';
import { parseDeployRequest, parseRollbackRequest, type RolloutDefaults } from './deploy-request.js';
import { assertGate } from './gate.js';
import { RolloutEngine, type Change } from './rollout-engine.js';
import { SplitPusher } from './split-pusher.js';
import { ControllerLoop } from './controller-loop.js';
import { TERMINAL_EVENTS, type DeploymentLogger, type DeploymentServiceOptions, type DeployResponse, type Intent, type RollbackResponse, type RolloutSpec } from './types.js';
import { decisionData, toDeploymentWire, type DeploymentWire } from './wire.js';
import { previousStable } from './rollback-target.js';

/** Controller tick when none is configured (DEPLOYMENT_TICK_MS). */
export const DEFAULT_TICK_MS = 1_000;

interface ServiceEvents {
  /** New events were appended to a deployment's log. */
  event: [deploymentId: string];
}

export class DeploymentService extends EventEmitter<ServiceEvents> {
  readonly #store: DeploymentsStore;
  readonly #registry: ModelRegistry;
  readonly #pusher: SplitPusher;
  readonly #engine: RolloutEngine;
  readonly #loop: ControllerLoop;
  readonly #defaults: RolloutDefaults;
  readonly #now: () => number;
  readonly #logger: DeploymentLogger | undefined;
  #closing: Promise<void> | null = null;

  constructor(o: DeploymentServiceOptions) {
    super();
    const tickMs = o.tickMs ?? DEFAULT_TICK_MS;
    if (!Number.isFinite(tickMs) || tickMs <= 0) throw DeployInvalidOption('DeploymentService', 'tickMs', 'a positive number of milliseconds', o.tickMs);
    this.#registry = o.registry;
    this.#logger = o.logger;
    this.#pusher = new SplitPusher(o.prime, o.logger);
    this.#engine = new RolloutEngine(o.db, this.#pusher);
    this.#store = this.#engine.store;
    this.#defaults = o.defaults;
    this.#now = o.now ?? Date.now;
    this.#loop = new ControllerLoop({
      stats: (signal) => o.prime.stats(signal),
      engine: this.#engine,
      pusher: this.#pusher,
      tickMs,
      now: this.#now,
      onChanges: (changes) => this.#published(changes),
      acting: o.leading,
      logger: o.logger,
    });
  }

  /**
   * Starts acting as the rollout controller: announces every active deployment's split to prime and runs
   * the loop, which picks each rollout up at the step the database holds (also after another node led).
   */
  async lead(): Promise<void> {
    if (this.#loop.running || this.#closing) return;
    // Started before the first await, so a second call while this one reads finds it running.
    this.#loop.start();
    try {
      await this.#engine.announce((await this.#store.active()).map((r) => r.spec.modelType));
    } catch (err) {
      this.#logger?.error({ err }, 'could not read the active deployments to announce their splits; the next change announces them');
    }
  }

  /** Stops the controller loop (another node leads). The API still serves and writes to the database. */
  follow(): Promise<void> {
    return this.#loop.pause();
  }

  /** The controller of a single node: lead() at once. */
  start(): Promise<void> {
    return this.lead();
  }

  /** Whether this node's controller loop runs. */
  get leading(): boolean {
    return this.#loop.running;
  }

  async deploy(body: unknown): Promise<DeployResponse> {
    this.#assertOpen();
    const req = parseDeployRequest(body, this.#defaults);
    if (req.deploymentId !== undefined) {
      const existing = await this.#store.get(req.deploymentId);
      if (existing) {
        const { spec } = existing;
        if (spec.modelType !== req.modelType || spec.modelVersion !== req.modelVersion) throw DeployIdConflict(spec.deploymentId, spec.modelType, spec.modelVersion);
        return this.#deployResponse(spec, `deployment ${spec.deploymentId} exists already`);
      }
    }
    const candidate = await this.#registry.get(req.modelType, req.modelVersion);
    const active = await this.#store.activeFor(req.modelType);
    if (active) throw this.#activeError(active.spec);
    const stable = await this.#registry.stable(req.modelType);
    const note = assertGate({
      modelType: req.modelType,
      candidate: { version: candidate.version, metrics: candidate.metrics, evaluation: candidate.manifest.evaluation },
      stable: stable && { version: stable.version, metrics: stable.metrics },
      force: req.force,
    });
    const now = this.#now();
    const { deploymentId, ...rest } = req;
    const spec: RolloutSpec = { ...rest, deploymentId: deploymentId ?? newDeploymentId(), previousVersion: stable?.version ?? null, createdAt: now };
    const init = initialStatus(spec, now);
    const change = await this.#engine.transaction(async (e): Promise<Change> => {
      const events = init.decisions.map((d) => ({ event: d.event, data: { ...decisionData(spec, init.status, d), ...(note ? { gate: note } : {}) } }));
      const r = await e.store.insert({ spec, status: init.status }, events);
      if (!r.inserted) throw this.#activeError((await e.store.get(r.activeId))?.spec ?? spec);
      await e.setPointers(spec.modelType, pointersFor(spec, init.status), now);
      return { spec, events: r.events };
    });
    await this.#published([change]);
    const message = init.decisions.map((d) => d.message).join('; ') + (note ? `; ${note}` : '');
    return this.#deployResponse(spec, message);
  }

  async rollback(body: unknown): Promise<RollbackResponse> {
    this.#assertOpen();
    const { modelType, previousVersion } = parseRollbackRequest(body);
    const active = await this.#store.activeFor(modelType);
    const stableNow = (await this.#engine.models.pointers(modelType)).stable;
    const target = previousVersion ?? (active ? active.spec.previousVersion : await previousStable(this.#store, this.#registry, modelType, stableNow));
    if (target === null) throw DeployNoRollbackTarget(modelType, stableNow ?? 'nothing');
    await this.#registry.get(modelType, target);
    const now = this.#now();
    const changes = await this.#engine.transaction(async (e): Promise<Change[]> => {
      const out: Change[] = [];
      // Read again under the transaction: a tick may have moved it on since (a finished one is left as it is).
      const current = active && (await e.store.get(active.spec.deploymentId, true));
      if (current) {
        const c = await e.write(current, rollbackByOperator(current.spec, current.status, target, now), now);
        if (c) out.push(c);
      }
      await e.setPointers(modelType, { stable: target, canary: null, canaryPercentage: 0 }, now);
      return out;
    });
    await this.#published(changes, [modelType]);
    const aborted = active ? `; deployment ${active.spec.deploymentId} rolled back` : '';
    return {
      model_type: modelType,
      rolled_back_to: target,
      previous_stable: stableNow,
      aborted_deployment_id: active?.spec.deploymentId ?? null,
      message: `${modelType} serves ${target} with no canary${aborted}`,
    };
  }

  /** An operator command: idempotent; 409 when the deployment has ended in a way the command cannot undo. */
  async command(id: string, intent: Intent): Promise<DeploymentWire> {
    this.#assertOpen();
    const rec = await this.#require(this.#store, id);
    const effect = intentEffect(rec.status.phase, intent);
    if (effect === 'conflict') throw DeployFinished.with({ status: rec.status.phase }, id, rec.status.phase, PAST[intent]);
    if (effect === 'apply') {
      const change = await this.#engine.transaction(async (e) => e.reconcileOne(await this.#require(e.store, id, true), [intent], this.#now()));
      await this.#published(change ? [change] : []);
    }
    return this.get(id);
  }

  async get(id: string): Promise<DeploymentWire> {
    const { spec, status } = await this.#require(this.#store, id);
    const counts = await this.#store.counts(id);
    const events = await this.#store.eventsSince(id, 0);
    return toDeploymentWire({ spec, status, counts, events, push: this.#pusher.pushState(spec.modelType), now: this.#now() });
  }

  /** Newest first, without their decision lists. */
  async list(filter: DeploymentFilter = {}): Promise<Array<Omit<DeploymentWire, 'decisions'>>> {
    const out: Array<Omit<DeploymentWire, 'decisions'>> = [];
    for (const { spec, status } of await this.#store.list(filter)) {
      const { decisions: _omitted, ...rest } = toDeploymentWire({
        spec,
        status,
        counts: await this.#store.counts(spec.deploymentId),
        events: [],
        push: this.#pusher.pushState(spec.modelType),
        now: this.#now(),
      });
      out.push(rest);
    }
    return out;
  }

  async has(id: string): Promise<boolean> {
    return (await this.#store.get(id)) !== undefined;
  }

  eventsSince(id: string, afterSeq: number): Promise<DeploymentEvent[]> {
    return this.#store.eventsSince(id, afterSeq);
  }

  async isFinished(id: string): Promise<boolean> {
    const phase = (await this.#store.get(id))?.status.phase;
    return phase !== undefined && phase !== 'deploying' && phase !== 'paused';
  }

  isTerminalEvent(event: string): boolean {
    return (TERMINAL_EVENTS as readonly string[]).includes(event);
  }

  /** The id of the type's deploying or paused deployment (GET /api/models shows it), else null. */
  async activeDeploymentId(type: ModelType): Promise<string | null> {
    return (await this.#store.activeFor(type))?.spec.deploymentId ?? null;
  }

  /** One controller pass: read prime's counters, reconcile every active deployment, push changed splits. */
  tick(): Promise<void> {
    return this.#loop.tick();
  }

  /** Stops the loop and in-flight calls to prime; state stays in the database. Safe to call twice. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      await this.#loop.close();
      await this.#pusher.close();
    })();
    return this.#closing;
  }

  /** After a commit: queue the splits, wake the streams, log the decisions. */
  async #published(changes: Change[], extraTypes: ModelType[] = []): Promise<void> {
    await this.#engine.announce([...changes.map((c) => c.spec.modelType), ...extraTypes]);
    for (const c of changes) {
      for (const e of c.events) this.#logger?.info({ deployment_id: c.spec.deploymentId, event: e.event, ...e.data }, String(e.data.message));
      this.emit('event', c.spec.deploymentId);
    }
    if (!this.#closing) void this.#pusher.flush();
  }

  /** `store`: the service's, or a transaction's (then `lock` as in DeploymentsStore.get). */
  async #require(store: DeploymentsStore, id: string, lock = false) {
    const rec = await store.get(id, lock);
    if (!rec) throw DeployNotFound(id);
    return rec;
  }

  #assertOpen(): void {
    if (this.#closing) throw HttpNotReady('closing');
  }

  #activeError(spec: RolloutSpec) {
    return DeployActive.with({ active_deployment_id: spec.deploymentId }, spec.modelType, spec.deploymentId, spec.modelVersion);
  }

  async #deployResponse(spec: RolloutSpec, message: string): Promise<DeployResponse> {
    const { status } = await this.#require(this.#store, spec.deploymentId);
    return {
      deployment_id: spec.deploymentId,
      model_type: spec.modelType,
      model_version: spec.modelVersion,
      strategy: spec.strategy,
      status: status.phase,
      current_percentage: status.currentPercentage,
      message,
    };
  }
}

const PAST: Record<Intent, string> = { promote: 'promoted', pause: 'paused', resume: 'resumed', abort: 'aborted' };

function newDeploymentId(): string {
  return `dep-${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
}
