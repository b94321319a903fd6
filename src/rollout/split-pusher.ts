/**
 * Getting each model type's split to prime (docs/prime-protocol.md "the split (push)"): one push in
 * flight per type, always the newest wanted split, repeated on the next flush until prime acknowledges
 * it. Prime being down delays nothing else: its reconcile pull picks the split up once it is back. Also
 * remembers what prime said about each deployment's canary, which the controller reads as `canaryLoad`.
 */
import type { SplitRequest } from '../client/index.js';
import { TrinityError } from '../errors.js';
import type { CanaryLoad } from './types.js';

export interface SplitPort {
  pushSplit(split: SplitRequest, signal?: AbortSignal): Promise<unknown>;
}

export interface PushLogger {
  info(obj: Record<string, unknown>, msg: string): void;
  warn(obj: Record<string, unknown>, msg: string): void;
}

/** What the last push of a type came to, for GET /api/models/deployments/{id}. */
export interface PushState {
  state: 'applied' | 'pending' | 'rejected';
  error: string | null;
}

const key = (s: SplitRequest) => JSON.stringify(s);

export class SplitPusher {
  readonly #port: SplitPort;
  readonly #logger: PushLogger | undefined;
  readonly #wanted = new Map<string, SplitRequest>();
  readonly #applied = new Map<string, string>();
  readonly #inFlight = new Map<string, Promise<void>>();
  readonly #states = new Map<string, PushState>();
  /** `${deployment_id} ${version}` → what prime said about loading that version for that deployment. */
  readonly #loads = new Map<string, { load: CanaryLoad; error?: string }>();
  readonly #abort = new AbortController();

  constructor(port: SplitPort, logger?: PushLogger) {
    this.#port = port;
    this.#logger = logger;
  }

  /** Records the split prime should serve for its type; sent by the next flush. */
  want(split: SplitRequest): void {
    this.#wanted.set(split.model_type, split);
    if (this.#applied.get(split.model_type) !== key(split)) this.#states.set(split.model_type, { state: 'pending', error: null });
  }

  /** Pushes every type whose wanted split prime has not acknowledged; resolves when those pushes settle. */
  flush(): Promise<void> {
    const pending: Promise<void>[] = [];
    for (const type of this.#wanted.keys()) {
      const p = this.#inFlight.get(type) ?? this.#pushIfNeeded(type);
      if (p) pending.push(p);
    }
    return Promise.all(pending).then(() => undefined);
  }

  /** The model types this pusher has been told about. */
  wantedTypes(): string[] {
    return [...this.#wanted.keys()];
  }

  canaryLoad(deploymentId: string, version: string): { load: CanaryLoad; error?: string } {
    return this.#loads.get(`${deploymentId} ${version}`) ?? { load: 'unknown' };
  }

  pushState(type: string): PushState | undefined {
    return this.#states.get(type);
  }

  /** Stops in-flight pushes and waits for them; safe to call twice. */
  async close(): Promise<void> {
    this.#abort.abort();
    await Promise.all([...this.#inFlight.values()]);
  }

  #pushIfNeeded(type: string): Promise<void> | undefined {
    const split = this.#wanted.get(type);
    if (!split || this.#abort.signal.aborted || this.#applied.get(type) === key(split)) return undefined;
    const p = this.#push(split).finally(() => this.#inFlight.delete(type));
    this.#inFlight.set(type, p);
    return p;
  }

  async #push(split: SplitRequest): Promise<void> {
    const type = split.model_type;
    try {
      await this.#port.pushSplit(split, this.#abort.signal);
      this.#applied.set(type, key(split));
      this.#states.set(type, { state: 'applied', error: null });
      this.#noteLoads(split, { load: 'ready' });
    } catch (err) {
      if (this.#abort.signal.aborted) return;
      this.#onFailure(split, err);
      return;
    }
    // The wanted split changed while this one was on its way: send the newer one now, not a tick later.
    const now = this.#wanted.get(type);
    if (now && key(now) !== key(split)) {
      this.#inFlight.delete(type);
      await this.#pushIfNeeded(type);
    }
  }

  #onFailure(split: SplitRequest, err: unknown): void {
    const type = split.model_type;
    const message = err instanceof Error ? err.message : String(err);
    const rejected = err instanceof TrinityError && err.statusCode === 422;
    const previous = this.#states.get(type);
    this.#states.set(type, { state: rejected ? 'rejected' : 'pending', error: message });
    if (previous?.error !== message) this.#logger?.warn({ split, err: message }, rejected ? 'prime refused a split' : 'prime did not take the split; retrying');
    if (!rejected || !(err instanceof TrinityError)) return;
    const version = typeof err.extra.version === 'string' ? err.extra.version : null;
    // A refused split is never retried as it is: prime keeps its old table until the split changes.
    this.#applied.set(type, key(split));
    if (version !== null && split.deployment_id !== null) this.#loads.set(`${split.deployment_id} ${version}`, { load: 'failed', error: message });
  }

  #noteLoads(split: SplitRequest, v: { load: CanaryLoad }): void {
    if (split.deployment_id === null) return;
    for (const version of [split.stable, split.canary]) if (version !== null) this.#loads.set(`${split.deployment_id} ${version}`, v);
  }
}
