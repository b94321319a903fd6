/**
 * Prime → reactor, the pull (docs/prime-protocol.md): every PRIME_RECONCILE_INTERVAL seconds read
 * `GET {reactor}/api/models` and apply each type's split, so a prime started later or restarted converges
 * within a few seconds. Reactor being down is not an error for serving: prime keeps what it has and says
 * so in its health.
 */
import { z } from 'zod';
import { ReactorClient } from '../client/index.js';
import { MODEL_TYPES, type ModelType } from '../model-types.js';
import type { ModelServer, ServingLogger, SplitSpec } from '../serving/index.js';

/** A pass that waits longer than this for reactor gives up until the next one. */
export const RECONCILE_TIMEOUT_MS = 5_000;

const versionEntry = z.looseObject({ version: z.string(), digest: z.string().optional() });
const typeEntry = z.looseObject({
  stable: z.string().nullable().optional(),
  canary: z.string().nullable().optional(),
  canary_percentage: z.number().optional(),
  deployment_id: z.string().nullable().optional(),
  versions: z.array(versionEntry).optional(),
});
const modelsBody = z.looseObject({ models: z.record(z.string(), z.unknown()) });

export interface ReconcilerOptions {
  server: ModelServer;
  /** Reactor's base URL (config.reactor.url). */
  reactorUrl: string;
  /** Bearer token (config.apiToken). Default: none. */
  token?: string;
  /** Milliseconds between passes (config.prime.reconcileIntervalSeconds × 1000). */
  intervalMs: number;
  logger?: ServingLogger;
}

/** Reactor's listing of one type as a split prime can apply; undefined when the entry is unusable. */
export function specFromListing(modelType: ModelType, raw: unknown): SplitSpec | undefined {
  const parsed = typeEntry.safeParse(raw);
  if (!parsed.success) return undefined;
  const e = parsed.data;
  const digests: Record<string, string> = {};
  for (const v of e.versions ?? []) if (v.digest !== undefined) digests[v.version] = v.digest;
  return {
    modelType,
    stable: e.stable ?? null,
    canary: e.canary ?? null,
    canaryPercentage: e.canary_percentage ?? 0,
    deploymentId: e.deployment_id,
    expectedDigests: digests,
  };
}

export class Reconciler {
  private readonly client: ReactorClient;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private stopped = false;
  private attempted = false;
  private lastError: string | null = null;

  constructor(private readonly opts: ReconcilerOptions) {
    this.client = new ReactorClient({ baseUrl: opts.reactorUrl, token: opts.token, timeoutMs: RECONCILE_TIMEOUT_MS });
  }

  /** True once the first pass has finished, whatever its outcome. */
  get hasAttempted(): boolean {
    return this.attempted;
  }

  /** Why the last pass could not read reactor; null when it could. */
  get reactorError(): string | null {
    return this.lastError;
  }

  /** Runs the first pass, then keeps passing every interval until close(). */
  async start(): Promise<void> {
    await this.runOnce();
    this.schedule();
  }

  private schedule(): void {
    if (this.stopped) return;
    // A chain of timeouts rather than an interval: a slow pass never overlaps the next one.
    this.timer = setTimeout(() => {
      void this.runOnce().then(() => this.schedule());
    }, this.opts.intervalMs);
    this.timer.unref();
  }

  /** One pass: read reactor's models and apply every type's split (failures stay per type). */
  runOnce(): Promise<void> {
    this.running ??= this.pass().finally(() => {
      this.running = null;
      this.attempted = true;
    });
    return this.running;
  }

  private async pass(): Promise<void> {
    let listing: Record<string, unknown>;
    try {
      const body = modelsBody.safeParse(await this.client.models());
      if (!body.success) throw new Error(`GET /api/models answered without a models object`);
      listing = body.data.models;
      if (this.lastError !== null) this.opts.logger?.info({ reactor: this.opts.reactorUrl }, 'reactor reachable again');
      this.lastError = null;
    } catch (err) {
      const message = (err as Error).message;
      if (this.lastError === null) this.opts.logger?.warn({ reactor: this.opts.reactorUrl, error: message }, 'cannot read the split from reactor; serving what is loaded');
      this.lastError = message;
      return;
    }
    const current = new Map(this.opts.server.splits().map((v) => [v.modelType, v]));
    const applies: Promise<unknown>[] = [];
    for (const type of MODEL_TYPES) {
      if (!Object.hasOwn(listing, type)) continue;
      const spec = specFromListing(type, listing[type]);
      // Nothing wanted and nothing served: no table to build (and no trainer needed for the type).
      if (spec === undefined || (spec.stable === null && spec.canary === null && !current.has(type))) continue;
      applies.push(
        this.opts.server.applySplit(spec, 'reconcile').catch((err: unknown) => {
          this.opts.logger?.warn({ model_type: type, error: (err as Error).message }, 'could not apply reactor split');
        }),
      );
    }
    await Promise.all(applies);
  }

  /** Stops the timer and waits for a pass under way. Safe to call twice. */
  async close(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.running;
  }
}
