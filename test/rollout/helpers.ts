/** Shared fixtures for the rollout tests: specs and observations for the pure controller, and a fake prime. */
import Fastify, { type FastifyInstance } from 'fastify';
import type { CountsByVersion, Intent, Observations, RolloutSpec, VersionCounts } from '../../src/rollout/index.js';

export const T0 = Date.parse('2025-03-01T12:00:00.000Z');
export const SEC = 1000;

export function spec(overrides: Partial<RolloutSpec> = {}): RolloutSpec {
  return {
    deploymentId: 'dep-test',
    modelType: 'nlu',
    modelVersion: 'v1.0.1',
    previousVersion: 'v1.0.0',
    strategy: 'gradual_rollout',
    steps: [10, 25, 50, 75, 100],
    rollbackOnErrorRate: 0.05,
    monitorDurationMs: 300 * SEC,
    minSamples: 50,
    autoRollback: true,
    confidence: 0.95,
    force: false,
    createdAt: T0,
    ...overrides,
  };
}

/** Counters with `ok` positive and `bad` negative feedbacks (and as many requests). */
export function outcomes(ok: number, bad: number, thrown = 0): VersionCounts {
  return { requests: ok + bad + thrown, errors: thrown, feedbackSuccess: ok, feedbackFailure: bad };
}

export function obs(counts: CountsByVersion = {}, more: Partial<Observations> = {}): Observations {
  return { counts, canaryLoad: 'unknown', intents: [], ...more };
}

export function intents(...i: Intent[]): Partial<Observations> {
  return { intents: i };
}

/** A fake J-Prime: stats the test sets, splits it records, and 422 or downtime on demand. */
export class FakePrime {
  readonly splits: Array<Record<string, unknown>> = [];
  instanceId = 'prime-1';
  startedAt = new Date(T0 - 3600 * SEC).toISOString();
  /** model type → version → counters in the wire form. */
  models: Record<string, Record<string, { requests: number; errors: number; feedback_success: number; feedback_failure: number }>> = {};
  /** Versions whose split is refused with 422. */
  readonly refuse = new Set<string>();
  down = false;
  private app: FastifyInstance | undefined;
  url = '';

  async start(): Promise<this> {
    const app = Fastify();
    app.addHook('onRequest', async (_req, reply) => {
      if (this.down) await reply.code(503).send({ error: 'down' });
    });
    app.get('/api/v1/models/stats', async () => ({ instance_id: this.instanceId, started_at: this.startedAt, models: this.models }));
    app.post<{ Body: Record<string, unknown> }>('/api/v1/models/split', async (req, reply) => {
      const b = req.body;
      for (const v of [b.stable, b.canary]) {
        if (typeof v === 'string' && this.refuse.has(v)) return reply.code(422).send({ error: 'probe failed', details: `${v} threw`, code: 'X', version: v });
      }
      this.splits.push(b);
      return { ...b, applied_at: new Date().toISOString() };
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
    const addr = app.server.address();
    this.url = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
    this.app = app;
    return this;
  }

  /** Adds outcomes to a version's cumulative counters. */
  add(type: string, version: string, ok: number, bad: number, thrown = 0): void {
    const t = (this.models[type] ??= {});
    const c = (t[version] ??= { requests: 0, errors: 0, feedback_success: 0, feedback_failure: 0 });
    c.requests += ok + bad + thrown;
    c.errors += thrown;
    c.feedback_success += ok;
    c.feedback_failure += bad;
  }

  /** A new process: new id, counters from zero. */
  restart(): void {
    this.instanceId = `prime-${Math.random().toString(36).slice(2, 8)}`;
    this.startedAt = new Date().toISOString();
    this.models = {};
  }

  lastSplit(type: string): Record<string, unknown> | undefined {
    return [...this.splits].reverse().find((s) => s.model_type === type);
  }

  async close(): Promise<void> {
    await this.app?.close();
  }
}
