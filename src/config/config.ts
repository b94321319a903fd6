/**
 * The environment, parsed once into a frozen, typed Config. Nothing else reads process.env.
 * Names and defaults follow CONTRACT §7 (the original design's variables) plus the paths and ports
 * Trinity adds. A bad value fails with the variable's name, what it expects and what it got.
 */
import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { z } from 'zod';
import { ConfigInvalid } from '../errors.js';
import { DEFAULT_WORKER_POOL, WORKER_POOLS } from '../worker-pools.js';

const TRUE = new Set(['1', 'true', 'yes', 'on']);
const FALSE = new Set(['0', 'false', 'no', 'off']);

const bool = (fallback: boolean) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v === '') return fallback;
      const s = v.trim().toLowerCase();
      if (TRUE.has(s)) return true;
      if (FALSE.has(s)) return false;
      ctx.addIssue({ code: 'custom', message: `expected true or false, got ${JSON.stringify(v)}` });
      return z.NEVER;
    });

const num = (fallback: number, opts: { min?: number; int?: boolean } = {}) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v.trim() === '') return fallback;
      const n = Number(v);
      const kind = opts.int ? 'an integer' : 'a number';
      const bound = opts.min === undefined ? '' : ` >= ${opts.min}`;
      if (!Number.isFinite(n) || (opts.int && !Number.isInteger(n)) || (opts.min !== undefined && n < opts.min)) {
        ctx.addIssue({ code: 'custom', message: `expected ${kind}${bound}, got ${JSON.stringify(v)}` });
        return z.NEVER;
      }
      return n;
    });

/** A number that may be left unset: undefined then, so the code can tell "unset" from any value. */
const optionalNum = (opts: { min?: number } = {}) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v.trim() === '') return undefined;
      const n = Number(v);
      if (!Number.isFinite(n) || (opts.min !== undefined && n < opts.min)) {
        ctx.addIssue({ code: 'custom', message: `expected a number${opts.min === undefined ? '' : ` >= ${opts.min}`} or unset, got ${JSON.stringify(v)}` });
        return z.NEVER;
      }
      return n;
    });

const port = (fallback: number) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v.trim() === '') return fallback;
      const n = Number(v);
      if (!Number.isInteger(n) || n < 0 || n > 65535) {
        ctx.addIssue({ code: 'custom', message: `expected a port 0-65535, got ${JSON.stringify(v)}` });
        return z.NEVER;
      }
      return n;
    });

const url = (fallback: string | undefined) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      const s = v === undefined || v.trim() === '' ? fallback : v.trim();
      if (s === undefined) return undefined;
      try {
        const u = new URL(s);
        if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('scheme');
        return s.replace(/\/+$/, '');
      } catch {
        ctx.addIssue({ code: 'custom', message: `expected an http(s) URL, got ${JSON.stringify(v)}` });
        return z.NEVER;
      }
    });

const steps = (fallback: number[]) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v.trim() === '') return fallback;
      const parts = v.split(',').map((p) => Number(p.trim()));
      const ok =
        parts.length > 0 &&
        parts.every((p, i) => Number.isFinite(p) && p > 0 && p <= 100 && (i === 0 || p > parts[i - 1])) &&
        parts[parts.length - 1] === 100;
      if (!ok) {
        ctx.addIssue({ code: 'custom', message: `expected increasing percentages ending at 100 like "10,25,50,75,100", got ${JSON.stringify(v)}` });
        return z.NEVER;
      }
      return parts;
    });

const text = (fallback: string | undefined) =>
  z
    .string()
    .optional()
    .transform((v) => (v === undefined || v.trim() === '' ? fallback : v.trim()));

/** `a.example, b.example:8443` → lower-case names; a name with a scheme, path or blank inside is refused. */
const hostList = () =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      const names = (v ?? '').split(',').map((h) => h.trim().toLowerCase()).filter((h) => h !== '');
      const bad = names.find((h) => !/^(\[[0-9a-f:.]+\]|[a-z0-9._-]+)(:\d{1,5})?$/.test(h));
      if (bad !== undefined) {
        ctx.addIssue({ code: 'custom', message: `expected host names like "trinity.lan" or "trinity.lan:8443", separated by commas; got ${JSON.stringify(bad)}` });
        return z.NEVER;
      }
      return names;
    });

/** The raw environment schema: one entry per variable, named exactly as users set it. */
const envSchema = z.object({
  JARVIS_HOME: text(undefined),
  REACTOR_CORE_HOST: text('127.0.0.1'),
  REACTOR_CORE_PORT: port(8090),
  JARVIS_PRIME_HOST: text('127.0.0.1'),
  JARVIS_PRIME_PORT: port(8002),
  JARVIS_HOST: text('127.0.0.1'),
  JARVIS_PORT: port(8010),
  EXPERIENCE_DIR: text(undefined),
  CHECKPOINT_DIR: text(undefined),
  TRAINING_CHECKPOINT_DIR: text(undefined),
  MODEL_REGISTRY_DIR: text(undefined),
  TRAINING_DROPBOX_DIR: text(undefined),
  REACTOR_CORE_API_URL: url(undefined),
  REACTOR_CLOUD_API_URL: url(undefined),
  JARVIS_PRIME_URL: url(undefined),
  REACTOR_API_TIMEOUT: num(3600, { min: 0 }),
  REACTOR_API_RETRIES: num(3, { min: 0, int: true }),
  REACTOR_RETRY_DELAY: num(5.0, { min: 0 }),
  MAX_TOTAL_MEMORY_GB: num(64, { min: 0 }),
  JPRIME_MEMORY_THRESHOLD_GB: num(20, { min: 0 }),
  /** Unset: each job reserves its trainer's estimate (CONTRACT §6); set: every job reserves this. */
  TRAINING_MEMORY_RESERVE_GB: optionalNum({ min: 0 }),
  RESOURCE_CHECK_INTERVAL: num(30, { min: 0 }),
  MAX_CONCURRENT_TRAINING_JOBS: num(1, { min: 1, int: true }),
  TRAINING_LOCK_TTL: num(7200, { min: 1 }),
  TRAINING_SLOT_TIMEOUT: num(300, { min: 0 }),
  CHECKPOINT_INTERVAL_EPOCHS: num(10, { min: 1, int: true }),
  AUTO_RESUME_FAILED_TRAINING: bool(true),
  AB_TEST_ENABLED: bool(true),
  AB_TEST_INITIAL_PERCENTAGE: num(10, { min: 0 }),
  AB_TEST_GRADUAL_ROLLOUT: bool(true),
  ROLLOUT_STEPS: steps([10, 25, 50, 75, 100]),
  COST_AWARE_TRAINING: bool(true),
  LOCAL_TRAINING_MAX_SIZE_MB: num(1000, { min: 0 }),
  CLOUD_TRAINING_MIN_SIZE_MB: num(1000, { min: 0 }),
  GCP_TRAINING_ENABLED: bool(false),
  MIN_EXPERIENCES_FOR_TRAINING: num(100, { min: 1, int: true }),
  TRAINING_CHECK_INTERVAL: num(300, { min: 0 }),
  AB_TEST_MIN_SAMPLES: num(50, { min: 1, int: true }),
  /** Seconds each rollout step holds before it may advance (deployments JARVIS requests). */
  ROLLOUT_MONITOR_DURATION_SECONDS: num(300, { min: 0 }),
  MIN_EXPERIENCE_QUALITY: num(0.3, { min: 0 }),
  AB_TEST_CONFIDENCE_THRESHOLD: num(0.95, { min: 0 }),
  AUTO_TRAINING_ENABLED: bool(true),
  JARVIS_PRIME_ENABLED: bool(true),
  REACTOR_CORE_ENABLED: bool(true),
  TRINITY_API_TOKEN: text(undefined),
  /** Comma-separated Host names the services answer besides the loopback names (behind a proxy, or by name on a LAN). */
  TRINITY_ALLOWED_HOSTS: hostList(),
  TRINITY_DATABASE_URL: text(undefined),
  /** Seconds between full scans of the events folder (the watcher can miss events under bursts). */
  EXPERIENCE_RECONCILE_INTERVAL: num(10, { min: 0.05 }),
  /** Seconds between rewrites of cross_repo/<service>_state.json. */
  STATE_FILE_INTERVAL: num(5, { min: 0.05 }),
  /** Seconds between prime's reads of reactor's split (GET /api/models); see docs/prime-protocol.md. */
  PRIME_RECONCILE_INTERVAL: num(2, { min: 0.05 }),
  /** Largest accepted HTTP body in megabytes. */
  MAX_REQUEST_BODY_MB: num(64, { min: 0.001 }),
  /** Jobs that may wait behind the running ones before start answers 503. */
  MAX_QUEUED_TRAINING_JOBS: num(16, { min: 1, int: true }),
  /** Milliseconds between deployment controller ticks (read prime's counters, decide, push the split). */
  DEPLOYMENT_TICK_MS: num(1000, { min: 10, int: true }),
  /** Seconds a node's lease on a leader role (rollout controller, intake reconcile, auto-trigger) lasts unless renewed. */
  LEADER_LEASE_TTL: num(15, { min: 0.05 }),
  /**
   * Who trains: `reactor` (the reactor runs jobs itself, as well as any workers) or `external` (only `trinity
   * worker` processes). Unset: `reactor` on SQLite, `external` on Postgres (issue 16: the API node leaves
   * training to workers there unless started with `--train`).
   */
  TRAINING_WORKERS: z.enum(['reactor', 'external']).optional(),
  /** Seconds a job runner's claim on a training job lasts unless renewed (renewed every TTL/3, at most 1 s apart). */
  TRAINING_LEASE_TTL: num(30, { min: 0.05 }),
  /** A shared folder for checkpoints, datasets and models (workers on other machines mount it); default JARVIS_HOME. */
  TRINITY_ARTIFACT_DIR: text(undefined),
  TRINITY_WORKER_HOST: text('127.0.0.1'),
  TRINITY_WORKER_PORT: port(8091),
  /** The pool whose jobs a worker claims (JARVIS's placement sends large jobs to cloud or gpu). */
  TRINITY_WORKER_POOL: z.enum(WORKER_POOLS).optional().default(DEFAULT_WORKER_POOL),
  /** Experiences per file jarvis forwards to trinity/events/; a model type with this many pending is written at once. */
  EXPERIENCE_BATCH_SIZE: num(100, { min: 1, int: true }),
  /** Seconds an experience may wait in jarvis's outbox before it is forwarded; also the retry delay after a failed write. */
  EXPERIENCE_FLUSH_INTERVAL: num(5, { min: 0.01 }),
  /** Seconds one plain request from jarvis to reactor may take (REACTOR_API_TIMEOUT bounds a whole training). */
  REACTOR_REQUEST_TIMEOUT: num(30, { min: 0.01 }),
  /** Consecutive failed calls from jarvis to a reactor that open its circuit breaker. */
  REACTOR_BREAKER_THRESHOLD: num(5, { min: 1, int: true }),
  /** Seconds an open circuit breaker waits before it lets one probe call through to reactor. */
  REACTOR_BREAKER_HALF_OPEN: num(30, { min: 0.01 }),
  LOG_LEVEL: text('info'),
});

export type Env = Record<string, string | undefined>;

function expandHome(p: string, home: string): string {
  if (p === '~') return home;
  if (p.startsWith('~/')) return join(home, p.slice(2));
  return p;
}

export function parseConfig(env: Env = process.env) {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    throw ConfigInvalid(lines.join('; '));
  }
  const e = parsed.data;
  const userHome = homedir();
  const home = resolve(expandHome(e.JARVIS_HOME ?? join(userHome, '.jarvis'), userHome));
  const under = (v: string | undefined, rel: string) => {
    if (v === undefined) return join(home, rel);
    const p = expandHome(v, userHome);
    return isAbsolute(p) ? p : resolve(home, p);
  };
  // Checkpoints, datasets and models live under the artifact folder when one is set (shared with workers).
  const artifacts = e.TRINITY_ARTIFACT_DIR === undefined ? home : under(e.TRINITY_ARTIFACT_DIR, '.');
  const underArtifacts = (v: string | undefined, rel: string) => (v === undefined ? join(artifacts, rel) : under(v, rel));
  const reactorHost = e.REACTOR_CORE_HOST!;
  const primeHost = e.JARVIS_PRIME_HOST!;
  const config = {
    home,
    logLevel: e.LOG_LEVEL!,
    apiToken: e.TRINITY_API_TOKEN,
    allowedHosts: e.TRINITY_ALLOWED_HOSTS,
    databaseUrl: e.TRINITY_DATABASE_URL,
    /**
     * Postgres ends a session idle inside a transaction after this long, so a frozen process's row locks
     * are gone before its leases run out: a third of the shorter lease TTL, between 1 and 10 s.
     */
    databaseIdleInTransactionMs: Math.round(Math.min(10_000, Math.max(1_000, (Math.min(e.LEADER_LEASE_TTL, e.TRAINING_LEASE_TTL) * 1000) / 3))),
    databasePath: join(home, 'trinity.db'),
    paths: {
      events: under(e.EXPERIENCE_DIR, 'trinity/events'),
      crossRepo: join(home, 'cross_repo'),
      checkpoints: underArtifacts(e.CHECKPOINT_DIR ?? e.TRAINING_CHECKPOINT_DIR, 'training_checkpoints'),
      models: underArtifacts(e.MODEL_REGISTRY_DIR, 'models'),
      dropbox: under(e.TRAINING_DROPBOX_DIR, 'bridge/training_staging'),
      logs: join(home, 'logs'),
    },
    reactor: {
      host: reactorHost,
      port: e.REACTOR_CORE_PORT,
      url: e.REACTOR_CORE_API_URL ?? `http://${hostForUrl(reactorHost)}:${e.REACTOR_CORE_PORT}`,
      cloudUrl: e.REACTOR_CLOUD_API_URL,
      enabled: e.REACTOR_CORE_ENABLED,
      apiTimeoutSeconds: e.REACTOR_API_TIMEOUT,
      apiRetries: e.REACTOR_API_RETRIES,
      retryDelaySeconds: e.REACTOR_RETRY_DELAY,
      requestTimeoutSeconds: e.REACTOR_REQUEST_TIMEOUT,
      breakerThreshold: e.REACTOR_BREAKER_THRESHOLD,
      breakerHalfOpenSeconds: e.REACTOR_BREAKER_HALF_OPEN,
      reconcileIntervalSeconds: e.EXPERIENCE_RECONCILE_INTERVAL,
      maxQueuedJobs: e.MAX_QUEUED_TRAINING_JOBS,
    },
    prime: {
      host: primeHost,
      port: e.JARVIS_PRIME_PORT,
      url: e.JARVIS_PRIME_URL ?? `http://${hostForUrl(primeHost)}:${e.JARVIS_PRIME_PORT}`,
      external: e.JARVIS_PRIME_URL !== undefined,
      enabled: e.JARVIS_PRIME_ENABLED,
      reconcileIntervalSeconds: e.PRIME_RECONCILE_INTERVAL,
    },
    jarvis: {
      host: e.JARVIS_HOST!,
      port: e.JARVIS_PORT,
      experienceBatchSize: e.EXPERIENCE_BATCH_SIZE,
      experienceFlushIntervalSeconds: e.EXPERIENCE_FLUSH_INTERVAL,
    },
    training: {
      checkpointIntervalEpochs: e.CHECKPOINT_INTERVAL_EPOCHS,
      autoResumeFailed: e.AUTO_RESUME_FAILED_TRAINING,
      maxConcurrentJobs: e.MAX_CONCURRENT_TRAINING_JOBS,
      lockTtlSeconds: e.TRAINING_LOCK_TTL,
      slotTimeoutSeconds: e.TRAINING_SLOT_TIMEOUT,
      minExperienceQuality: e.MIN_EXPERIENCE_QUALITY,
      minExperiencesForTraining: e.MIN_EXPERIENCES_FOR_TRAINING,
      checkIntervalSeconds: e.TRAINING_CHECK_INTERVAL,
      autoTrainingEnabled: e.AUTO_TRAINING_ENABLED,
      /** False with TRAINING_WORKERS=external (the default on Postgres): the reactor queues jobs and `trinity worker` processes train them. */
      reactorTrains: (e.TRAINING_WORKERS ?? (e.TRINITY_DATABASE_URL === undefined ? 'reactor' : 'external')) === 'reactor',
      leaseTtlSeconds: e.TRAINING_LEASE_TTL,
    },
    worker: {
      host: e.TRINITY_WORKER_HOST!,
      port: e.TRINITY_WORKER_PORT,
      pool: e.TRINITY_WORKER_POOL,
    },
    resources: {
      maxTotalMemoryGb: e.MAX_TOTAL_MEMORY_GB,
      jprimeMemoryThresholdGb: e.JPRIME_MEMORY_THRESHOLD_GB,
      /** null: unset, each job reserves its own estimate. */
      trainingMemoryReserveGb: e.TRAINING_MEMORY_RESERVE_GB ?? null,
      checkIntervalSeconds: e.RESOURCE_CHECK_INTERVAL,
    },
    placement: {
      costAware: e.COST_AWARE_TRAINING,
      localMaxSizeMb: e.LOCAL_TRAINING_MAX_SIZE_MB,
      cloudMinSizeMb: e.CLOUD_TRAINING_MIN_SIZE_MB,
      gcpEnabled: e.GCP_TRAINING_ENABLED,
    },
    abTest: {
      enabled: e.AB_TEST_ENABLED,
      initialPercentage: e.AB_TEST_INITIAL_PERCENTAGE,
      gradualRollout: e.AB_TEST_GRADUAL_ROLLOUT,
      rolloutSteps: e.ROLLOUT_STEPS,
      minSamples: e.AB_TEST_MIN_SAMPLES,
      monitorDurationSeconds: e.ROLLOUT_MONITOR_DURATION_SECONDS,
      confidenceThreshold: e.AB_TEST_CONFIDENCE_THRESHOLD,
    },
    deployment: {
      tickMs: e.DEPLOYMENT_TICK_MS,
    },
    leadership: {
      leaseTtlSeconds: e.LEADER_LEASE_TTL,
    },
    stateFileIntervalSeconds: e.STATE_FILE_INTERVAL,
    maxRequestBodyBytes: Math.round(e.MAX_REQUEST_BODY_MB * 1024 * 1024),
  };
  return deepFreeze(config);
}

export type Config = ReturnType<typeof parseConfig>;

function hostForUrl(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

/** True for 127.0.0.0/8, ::1 and localhost: the only binds allowed without an API token. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object') {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}
