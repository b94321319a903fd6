/**
 * Small stand-ins for reactor and J-Prime on 127.0.0.1 and an ephemeral port, for coordinator tests that
 * need to see the order and overlap of starts or to steer J-Prime's load. The fake reactor runs each
 * started job for `jobMs`, one event log per job (queued, then completed), served over SSE.
 */
import Fastify, { type FastifyInstance } from 'fastify';

export interface StartRecord {
  job_id: string;
  model_type: string;
  fencing_token: number | undefined;
  at: number;
  /** Jobs running at the fake when this one started (this one not counted). */
  concurrent: number;
}

interface FakeJob {
  id: string;
  modelType: string;
  done: boolean;
  failed: boolean;
  version: string;
}

export interface FakeReactorOptions {
  /** How long each job trains, in ms. Default 300. */
  jobMs?: number;
  /** Jobs for which this returns true end `failed`. */
  fails?: (jobId: string) => boolean;
  /** Status the deploy route answers with. Default 200. */
  deployStatus?: number;
  /** Bytes POST /api/training/estimate answers; without it the route is missing (404), as on an older reactor. */
  estimateBytes?: number;
}

export class FakeReactor {
  readonly app: FastifyInstance = Fastify({ forceCloseConnections: true });
  readonly starts: StartRecord[] = [];
  readonly deploys: Record<string, unknown>[] = [];
  readonly estimates: Record<string, unknown>[] = [];
  readonly jobs = new Map<string, FakeJob>();
  url = '';
  maxConcurrent = 0;
  /** new_since_last_training per type for GET /api/experiences/stats. */
  stats: Record<string, number> = {};
  private seen = 0;
  private versions = 0;

  private readonly jobMs: number;

  constructor(private readonly o: FakeReactorOptions = {}) {
    this.jobMs = o.jobMs ?? 300;
    const app = this.app;
    app.get('/api/health', async () => ({ status: 'healthy', service: 'reactor-core', active_training_jobs: this.active() }));
    app.get('/api/resources', async () => ({ memory_usage_gb: 0.1, memory_total_gb: 8, memory_available_gb: 4, active_training_jobs: this.active() }));
    app.get('/api/experiences/stats', async () =>
      Object.fromEntries(Object.entries(this.stats).map(([t, n]) => [t, { total: n, usable: n, new_since_last_training: n, last_trained_at: null }])),
    );
    app.post<{ Body: { job_id: string; model_type: string; fencing_token?: number } }>('/api/training/start', async (req, reply) => {
      const b = req.body;
      if (b.fencing_token !== undefined && b.fencing_token < this.seen) {
        return reply.code(409).send({ error: 'stale fencing token', details: 'old', code: 'TRN_ERR_TRAINING_STALE_FENCING_TOKEN', seen: this.seen });
      }
      if (b.fencing_token !== undefined) this.seen = b.fencing_token;
      if (!this.jobs.has(b.job_id)) {
        this.starts.push({ job_id: b.job_id, model_type: b.model_type, fencing_token: b.fencing_token, at: Date.now(), concurrent: this.active() });
        this.maxConcurrent = Math.max(this.maxConcurrent, this.active() + 1);
        const job: FakeJob = { id: b.job_id, modelType: b.model_type, done: false, failed: this.o.fails?.(b.job_id) ?? false, version: `v1.0.${this.versions++}` };
        this.jobs.set(b.job_id, job);
        setTimeout(() => (job.done = true), this.jobMs);
      }
      return { job_id: b.job_id, status: 'started', message: 'ok', started_at: new Date().toISOString(), estimated_duration_seconds: this.jobMs / 1000 };
    });
    const estimateBytes = o.estimateBytes;
    if (estimateBytes !== undefined) {
      app.post<{ Body: { model_type: string } }>('/api/training/estimate', async (req) => {
        this.estimates.push(req.body);
        return { model_type: req.body.model_type, memory_bytes: estimateBytes, memory_gb: estimateBytes / 1024 ** 3, basis: `${req.body.model_type} estimate: fake`, examples: 10 };
      });
    }
    app.get<{ Params: { id: string } }>('/api/training/status/:id', async (req, reply) => {
      const job = this.jobs.get(req.params.id);
      if (!job) return reply.code(404).send({ error: 'Training job not found', code: 'TRN_ERR_TRAINING_JOB_NOT_FOUND' });
      const status = !job.done ? 'training' : job.failed ? 'failed' : 'completed';
      return { job_id: job.id, model_type: job.modelType, status, model_version: status === 'completed' ? job.version : null, error: job.failed ? 'trainer process exited (out of memory)' : null };
    });
    app.get<{ Params: { id: string } }>('/api/training/stream/:id', async (req, reply) => {
      const job = this.jobs.get(req.params.id);
      if (!job) return reply.code(404).send({ error: 'Training job not found', code: 'TRN_ERR_TRAINING_JOB_NOT_FOUND' });
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      const after = Number(req.headers['last-event-id'] ?? 0);
      if (after < 1) res.write(`id: 1\nevent: queued\ndata: ${JSON.stringify({ job_id: job.id, status: 'queued' })}\n\n`);
      const timer = setInterval(() => {
        if (!job.done) return;
        clearInterval(timer);
        const end = job.failed
          ? `event: failed\ndata: ${JSON.stringify({ job_id: job.id, status: 'failed', error: 'trainer process exited (out of memory)' })}`
          : `event: completed\ndata: ${JSON.stringify({ job_id: job.id, status: 'completed', model_version: job.version, metrics: { accuracy: 0.9 } })}`;
        res.end(`id: 2\n${end}\n\n`);
      }, 20);
      req.raw.on('close', () => {
        clearInterval(timer);
        res.end();
      });
    });
    app.post<{ Body: Record<string, unknown> }>('/api/models/deploy', async (req, reply) => {
      this.deploys.push(req.body);
      if (this.o.deployStatus && this.o.deployStatus !== 200) {
        const code = this.o.deployStatus === 404 ? 'TRN_ERR_HTTP_NOT_FOUND' : 'TRN_ERR_DEPLOY_ACTIVE';
        return reply.code(this.o.deployStatus).send({ error: 'nope', details: 'nope', code });
      }
      return { deployment_id: req.body.deployment_id, status: 'deploying', current_percentage: 10, message: 'ok' };
    });
  }

  active(): number {
    return [...this.jobs.values()].filter((j) => !j.done).length;
  }

  async start(): Promise<this> {
    await this.app.listen({ host: '127.0.0.1', port: 0 });
    const addr = this.app.server.address();
    this.url = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
    return this;
  }

  close(): Promise<void> {
    return this.app.close();
  }
}

/** J-Prime's `GET /api/resources` with load the test sets. */
export class FakePrime {
  readonly app: FastifyInstance = Fastify({ forceCloseConnections: true });
  url = '';
  activeRequests = 0;
  memoryGb = 0.2;

  constructor() {
    this.app.get('/api/resources', async () => ({ memory_usage_gb: this.memoryGb, memory_total_gb: 8, cpu_percent: 1, active_requests: this.activeRequests, requests_last_minute: 0 }));
  }

  async start(): Promise<this> {
    await this.app.listen({ host: '127.0.0.1', port: 0 });
    const addr = this.app.server.address();
    this.url = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
    return this;
  }

  close(): Promise<void> {
    return this.app.close();
  }
}

/** Environment that makes jarvis react in fractions of a second instead of minutes. */
export const FAST_JARVIS_ENV: Readonly<Record<string, string>> = {
  LOG_LEVEL: 'warn',
  JARVIS_PRIME_ENABLED: 'false',
  AUTO_TRAINING_ENABLED: 'false',
  TRAINING_MEMORY_RESERVE_GB: '0.5',
  MAX_TOTAL_MEMORY_GB: '64',
  RESOURCE_CHECK_INTERVAL: '0.1',
  TRAINING_CHECK_INTERVAL: '0.3',
  EXPERIENCE_FLUSH_INTERVAL: '0.2',
  REACTOR_API_RETRIES: '1',
  REACTOR_RETRY_DELAY: '0.05',
  REACTOR_REQUEST_TIMEOUT: '3',
  REACTOR_BREAKER_THRESHOLD: '2',
  REACTOR_BREAKER_HALF_OPEN: '0.5',
  STATE_FILE_INTERVAL: '0.5',
};
