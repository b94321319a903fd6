/**
 * The coordinator's parts built from the configuration, in one place, so the service and tests wire
 * them the same way. Seconds from the environment become the milliseconds the classes take.
 */
import { join } from 'node:path';
import type { Config } from '../config/config.js';
import {
  AutoTrigger,
  ExperienceForwarder,
  JobQueue,
  JobRunner,
  LeaseLock,
  Leadership,
  MAX_TIMER_MS,
  ROLE_AUTO_TRIGGER,
  ReactorLink,
  ResourceGate,
  ResourceProbe,
  TrainingWorker,
  waitUntilIngested,
} from '../coordinator/index.js';
import { CoordinatorStore } from '../coordinator/coordinator-store.js';
import { OutboxStore } from '../coordinator/outbox-store.js';
import type { SqlDb } from '../store/sql.js';

/** A state file older than this many STATE_FILE_INTERVALs (and at least 15 s) is stale. */
export const STALE_STATE_INTERVALS = 3;

export interface CoordinatorParts {
  store: CoordinatorStore;
  outbox: OutboxStore;
  local: ReactorLink;
  cloud: ReactorLink | undefined;
  lock: LeaseLock;
  queue: JobQueue;
  runner: JobRunner;
  worker: TrainingWorker;
  forwarder: ExperienceForwarder;
  auto: AutoTrigger;
  /** The `auto-trigger` role: only the jarvis holding it runs the auto-trigger. */
  autoLeader: Leadership;
}

const ms = (seconds: number) => seconds * 1000;

function link(config: Config, name: string, baseUrl: string): ReactorLink {
  const r = config.reactor;
  return new ReactorLink({
    name,
    baseUrl,
    token: config.apiToken,
    retries: r.apiRetries,
    retryDelayMs: ms(r.retryDelaySeconds),
    requestTimeoutMs: ms(r.requestTimeoutSeconds),
    breakerThreshold: r.breakerThreshold,
    halfOpenAfterMs: ms(r.breakerHalfOpenSeconds),
  });
}

/**
 * `sql`: the store seam the coordinator's stores (queue and leases, outbox) use, SQLite or Postgres.
 * `hostAvailableBytes` replaces the host's MemAvailable (tests).
 */
export function assembleCoordinator(config: Config, sql: SqlDb, instanceId: string, o: { hostAvailableBytes?: () => number } = {}): CoordinatorParts {
  const store = new CoordinatorStore(sql);
  const outbox = new OutboxStore(sql);
  const local = link(config, 'local', config.reactor.url);
  const cloud = config.reactor.cloudUrl === undefined ? undefined : link(config, 'cloud', config.reactor.cloudUrl);
  const t = config.training;
  const lock = new LeaseLock({ store, capacity: t.maxConcurrentJobs, ttlMs: ms(t.lockTtlSeconds) });
  const queue = new JobQueue({ store, lock });
  const probe = new ResourceProbe({
    reactor: local,
    primeUrl: config.prime.enabled ? config.prime.url : undefined,
    token: config.apiToken,
    crossRepoDir: config.paths.crossRepo,
    staleAfterSeconds: Math.max(15, STALE_STATE_INTERVALS * config.stateFileIntervalSeconds),
    hostAvailableBytes: o.hostAvailableBytes,
  });
  const checkIntervalMs = ms(config.resources.checkIntervalSeconds);
  const gate = new ResourceGate({
    probe,
    limits: { maxTotalGb: config.resources.maxTotalMemoryGb },
    checkIntervalMs,
    timeoutMs: ms(t.slotTimeoutSeconds),
  });
  const runner = new JobRunner({
    store,
    lock,
    links: cloud ? { local, cloud } : { local },
    gate,
    placement: { ...config.placement, localUrl: local.baseUrl, cloudUrl: cloud?.baseUrl },
    forwarded: (type) => outbox.forwarded(type),
    deployPolicy: config.abTest,
    autoResume: t.autoResumeFailed,
    memoryReserveGb: config.resources.trainingMemoryReserveGb,
    checkpointInterval: t.checkpointIntervalEpochs,
    // REACTOR_API_TIMEOUT 0 means no limit (the longest timer Node can hold).
    jobTimeoutMs: config.reactor.apiTimeoutSeconds > 0 ? ms(config.reactor.apiTimeoutSeconds) : MAX_TIMER_MS,
    retryIntervalMs: Math.max(10, checkIntervalMs),
  });
  const worker = new TrainingWorker({
    queue,
    lock,
    runner,
    reactor: local,
    reactorEnabled: config.reactor.enabled,
    instanceId,
    concurrency: t.maxConcurrentJobs,
    slotTimeoutMs: ms(t.slotTimeoutSeconds),
    checkIntervalMs: Math.max(10, checkIntervalMs),
  });
  const forwarder = new ExperienceForwarder({
    outbox,
    eventsDir: config.paths.events,
    batchSize: config.jarvis.experienceBatchSize,
    flushIntervalMs: ms(config.jarvis.experienceFlushIntervalSeconds),
    claimer: instanceId,
  });
  const auto = new AutoTrigger({
    reactor: local,
    queue,
    minExperiences: t.minExperiencesForTraining,
    // A Node timer longer than MAX_TIMER_MS (24.8 days) would fire every millisecond instead.
    intervalMs: Math.min(MAX_TIMER_MS, Math.max(10, ms(t.checkIntervalSeconds))),
    ingested: (files, signal) => waitUntilIngested(files, { signal }),
  });
  // Each forwarded file asks for a check soon; the interval stays as the safety net.
  forwarder.on('forwarded', (f) => auto.nudge(join(config.paths.events, f.file)));
  const autoLeader = new Leadership({ store, role: ROLE_AUTO_TRIGGER, ttlMs: ms(config.leadership.leaseTtlSeconds), holder: instanceId });
  return { store, outbox, local, cloud, lock, queue, runner, worker, forwarder, auto, autoLeader };
}
