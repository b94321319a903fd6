/**
 * `trinity worker`: a training worker. It shares the reactor's database (the job table, claims and event
 * log) and TRINITY_ARTIFACT_DIR (datasets, checkpoints, models), claims queued or interrupted jobs with a
 * lease (job-claims.ts), trains them in trainer child processes, and registers each finished model in the
 * registry. It serves only health, resources and metrics over HTTP (default port 8091); the API, streams
 * and cancels stay on the reactor. `close()` checkpoints running jobs and gives them back, so another
 * worker resumes them at once; one that dies loses its jobs when its lease runs out (TRAINING_LEASE_TTL),
 * or at once to a worker on the same host, which sees its process gone.
 */
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import type { Config } from '../config/config.js';
import { isLoopback } from '../config/config.js';
import { ConfigInvalid } from '../errors.js';
import { openDatabase, type Db } from '../store/database.js';
import { openSqlDb } from '../store/open-sql.js';
import type { SqlDb } from '../store/sql.js';
import { ExperienceStore } from '../experiences/experiences-store.js';
import { createTrainingData } from '../experiences/index.js';
import { ModelRegistry } from '../registry/index.js';
import { JobStore } from '../training/jobs-store.js';
import { JobRunner } from '../training/job-runner.js';
import { EvaluationService } from '../training/evaluation-service.js';
import { dropboxLabel } from '../training/dropbox.js';
import { homeRelativeName } from '../util/shown-path.js';
import { createApp } from '../http/create-app.js';
import { serviceAllowedHosts } from '../http/origin-guard.js';
import { healthRoutes } from '../http/routes/health.js';
import { nodeName } from '../coordinator/leadership.js';
import { ensureDir } from '../util/fs.js';
import { hostMemory, rssBytes, toGb } from '../util/proc.js';
import { TRINITY_VERSION } from '../version.js';
import type { WorkerPool } from '../worker-pools.js';

export const WORKER_SERVICE_NAME = 'trinity-worker';

export interface WorkerOptions {
  config: Config;
  logger: Logger;
}

export class Worker {
  readonly app: FastifyInstance;
  /** This worker's name as the holder of job claims. */
  readonly workerId = nodeName('worker');
  private readonly metrics = new Registry();
  private readonly startedAt = Date.now();
  private db: Db | null = null;
  private sql: SqlDb | null = null;
  private runner: JobRunner | null = null;
  private evaluation: EvaluationService | null = null;
  private ready = false;
  private closing: Promise<void> | null = null;

  constructor(private readonly opts: WorkerOptions) {
    const { config, logger } = opts;
    const { host } = config.worker;
    if (!isLoopback(host) && !config.apiToken) {
      throw ConfigInvalid(`TRINITY_WORKER_HOST ${host} is not a loopback address; set TRINITY_API_TOKEN to serve beyond this machine`);
    }
    this.app = createApp({
      logger,
      bodyLimitBytes: config.maxRequestBodyBytes,
      apiToken: config.apiToken,
      allowedHosts: serviceAllowedHosts(config.allowedHosts, host),
    });
    this.defineMetrics();
  }

  get pool(): WorkerPool {
    return this.opts.config.worker.pool;
  }

  /** GET /api/health: who this worker is, its pool and the job(s) it trains now. */
  health(): { status: 'starting' | 'healthy' | 'degraded'; [k: string]: unknown } {
    const jobs = this.runner?.jobIds() ?? [];
    const problems = this.runner?.problems() ?? [];
    return {
      status: !this.ready ? 'starting' : problems.length ? 'degraded' : 'healthy',
      service: WORKER_SERVICE_NAME,
      version: TRINITY_VERSION,
      worker_id: this.workerId,
      pool: this.pool,
      current_job: jobs[0] ?? null,
      current_jobs: jobs,
      max_concurrent_jobs: this.opts.config.training.maxConcurrentJobs,
      lease_ttl_seconds: this.opts.config.training.leaseTtlSeconds,
      uptime_seconds: Math.round((Date.now() - this.startedAt) / 100) / 10,
      ...(problems.length ? { problems } : {}),
    };
  }

  private resources(): Record<string, unknown> {
    const pids = this.runner?.trainerPids() ?? [];
    const host = hostMemory();
    return {
      memory_usage_gb: toGb(rssBytes(process.pid) + pids.reduce((s, p) => s + rssBytes(p), 0)),
      memory_total_gb: host.totalGb,
      memory_available_gb: host.availableGb,
      active_training_jobs: this.runner?.activeJobCount() ?? 0,
      trainer_pids: pids,
    };
  }

  private defineMetrics(): void {
    collectDefaultMetrics({ register: this.metrics, prefix: 'trinity_worker_' });
    const jobs = () => this.runner?.activeJobCount() ?? 0;
    const pids = () => this.runner?.trainerPids() ?? [];
    const pool = () => this.pool;
    new Gauge({
      name: 'trinity_worker_active_training_jobs',
      help: 'Training jobs this worker holds a claim on',
      labelNames: ['pool'],
      registers: [this.metrics],
      collect() {
        this.set({ pool: pool() }, jobs());
      },
    });
    new Gauge({
      name: 'trinity_worker_trainer_memory_bytes',
      help: "Resident memory of this worker's trainer processes",
      labelNames: ['pool'],
      registers: [this.metrics],
      collect() {
        this.set({ pool: pool() }, pids().reduce((s, p) => s + rssBytes(p), 0));
      },
    });
  }

  /** Opens the database, starts listening, then claims work; returns the bound port. */
  async start(): Promise<number> {
    const { config, logger } = this.opts;
    for (const dir of [config.paths.checkpoints, config.paths.models, config.paths.logs]) ensureDir(dir);
    this.app.register(healthRoutes, { health: () => this.health(), resources: () => this.resources(), metrics: this.metrics });
    await this.app.listen({ host: config.worker.host, port: config.worker.port });
    const addr = this.app.server.address();
    const port = typeof addr === 'object' && addr ? addr.port : config.worker.port;

    // Postgres when TRINITY_DATABASE_URL names one (connected and migrated here), else the SQLite file.
    const sql = await openSqlDb({ databaseUrl: config.databaseUrl, idleInTransactionMs: config.databaseIdleInTransactionMs, sqlite: () => (this.db = openDatabase({ path: config.databasePath })) });
    this.sql = sql;
    const jobs = new JobStore(sql);
    const registry = new ModelRegistry({ db: sql, modelsDir: config.paths.models, logger: logger.child({ component: 'registry' }) });
    this.evaluation = new EvaluationService({
      registry,
      minQuality: config.training.minExperienceQuality,
      fileRoot: config.paths.dropbox,
      fileRootName: dropboxLabel(config.paths.dropbox, config.home),
      logger: logger.child({ component: 'evaluation' }),
    });
    this.runner = new JobRunner({
      jobs,
      claims: jobs.claims,
      data: createTrainingData(new ExperienceStore(sql, { minQuality: config.training.minExperienceQuality })),
      versions: registry,
      assessor: this.evaluation,
      logger: logger.child({ component: 'training', worker_id: this.workerId }),
      checkpointsRoot: config.paths.checkpoints,
      checkpointsName: homeRelativeName(config.paths.checkpoints, config.home, '$TRAINING_CHECKPOINT_DIR'),
      maxConcurrentJobs: config.training.maxConcurrentJobs,
      autoResume: config.training.autoResumeFailed,
      workerId: this.workerId,
      leaseTtlSeconds: config.training.leaseTtlSeconds,
      pool: this.pool,
      roster: jobs.roster,
    });
    this.runner.start();
    this.ready = true;
    logger.info({ port, worker_id: this.workerId, pool: this.pool }, 'training worker ready');
    return port;
  }

  /** Lets running jobs checkpoint and gives them back, then closes HTTP and the database. Safe to call twice. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.ready = false;
      await this.runner?.close();
      this.evaluation?.close();
      await this.app.close();
      await this.sql?.close();
      this.db?.close();
      this.opts.logger.info({ worker_id: this.workerId }, 'training worker stopped');
    })();
    return this.closing;
  }
}
