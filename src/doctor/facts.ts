/**
 * Gathers what `trinity doctor` checks: Node, the host's memory, what a job reserves, JARVIS_HOME (a real
 * temporary file is written there), its disk, the three ports and the settings. Separate from the checks so
 * those stay pure; everything here degrades to "unknown" rather than throwing.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { rm, statfs, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { basename, dirname, join } from 'node:path';
import type { Config, Env } from '../config/config.js';
import { createPlan, localUrl, pidListeningOn, probeHealth } from '../supervisor/index.js';
import type { ServiceName, ServiceSpec } from '../supervisor/index.js';
import { PRIVATE_FILE_MODE } from '../util/fs.js';
import { hostMemory } from '../util/proc.js';
import type { DoctorFacts, HomeFact, MemoryNeed, PortFact, PortState } from './types.js';

/** A health probe of whatever holds one of our ports; short, the doctor should answer at once. */
export const DOCTOR_PROBE_MS = 1_500;

const PORT_VARS: Record<ServiceName, { port: string; host: string }> = {
  reactor: { port: 'REACTOR_CORE_PORT', host: 'REACTOR_CORE_HOST' },
  prime: { port: 'JARVIS_PRIME_PORT', host: 'JARVIS_PRIME_HOST' },
  jarvis: { port: 'JARVIS_PORT', host: 'JARVIS_HOST' },
};

/** What a job whose trainer gives no estimate of its own reserves (CONTRACT §6, the design's figure). */
export const NO_ESTIMATE_RESERVE_GB = 40;

/**
 * What a training job reserves: TRAINING_MEMORY_RESERVE_GB when it is set, for every job.
 * SEAM for per-job memory estimates: when it is unset, each job reserves its trainer's own estimate; return
 * one need per model type here (`{jobs: 'nlu', gb, source: 'nlu estimate'}` for a typical job) and
 * NO_ESTIMATE_RESERVE_GB for a type without one. Until estimates exist the unset variable means its default.
 */
export function memoryNeeds(config: Config, env: Env): MemoryNeed[] {
  const reserve: number | undefined = config.resources.trainingMemoryReserveGb;
  const set = (env.TRAINING_MEMORY_RESERVE_GB ?? '').trim() !== '';
  if (set && reserve !== undefined) return [{ jobs: 'every job', gb: reserve, source: 'TRAINING_MEMORY_RESERVE_GB' }];
  return [{ jobs: 'every job', gb: reserve ?? NO_ESTIMATE_RESERVE_GB, source: reserve === undefined ? 'no per-job estimate' : 'TRAINING_MEMORY_RESERVE_GB default' }];
}

function nearestExisting(path: string): string {
  let dir = path;
  while (!existsSync(dir) && dirname(dir) !== dir) dir = dirname(dir);
  return dir;
}

export async function homeFact(home: string): Promise<HomeFact> {
  const exists = existsSync(home);
  const triedDir = exists ? home : nearestExisting(home);
  let writeError: string | null = null;
  const probe = join(triedDir, `.trinity-doctor-${process.pid}-${randomBytes(4).toString('hex')}.tmp`);
  try {
    await writeFile(probe, 'trinity doctor\n', { mode: PRIVATE_FILE_MODE, flag: 'wx' });
  } catch (err) {
    writeError = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
  } finally {
    await rm(probe, { force: true }).catch(() => undefined);
  }
  let freeBytes: number | null = null;
  let totalBytes: number | null = null;
  try {
    const s = await statfs(triedDir);
    freeBytes = s.bavail * s.bsize;
    totalBytes = s.blocks * s.bsize;
  } catch {
    // unknown: reported as such
  }
  return { path: home, exists, triedDir, writeError, freeBytes, totalBytes };
}

/** Binds host:port for a moment: null when it could, else the error code (EADDRINUSE…). */
function tryBind(host: string, port: number): Promise<string | null> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
    srv.listen({ host, port, exclusive: true }, () => srv.close(() => resolve(null)));
  });
}

/** `process 1234 (nginx)` for whoever listens on the port, when /proc tells (the program it runs, argv[0]). */
function listener(port: number): string {
  const pid = pidListeningOn(port);
  if (pid === null) return 'another program';
  try {
    const argv0 = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[0] ?? '';
    return argv0 ? `process ${pid} (${basename(argv0)})` : `process ${pid}`;
  } catch {
    return `process ${pid}`;
  }
}

async function portState(spec: ServiceSpec, token: string | undefined): Promise<PortState> {
  if (!spec.enabled) return { kind: 'not_launched', why: `is off (${spec.name === 'reactor' ? 'REACTOR_CORE_ENABLED' : 'JARVIS_PRIME_ENABLED'}=false)` };
  if (spec.external) return { kind: 'not_launched', why: `is external at ${spec.url} (JARVIS_PRIME_URL), not launched here` };
  if (spec.port === 0) return { kind: 'ephemeral' };
  const code = await tryBind(spec.host, spec.port);
  if (code === null) return { kind: 'free' };
  if (code !== 'EADDRINUSE') return { kind: 'error', code };
  const probe = await probeHealth(localUrl(spec.host, spec.port), spec.healthPaths, { timeoutMs: DOCTOR_PROBE_MS, token });
  if (probe.service !== null && probe.service === spec.serviceId) return { kind: 'ours', status: probe.state };
  return { kind: 'other', what: probe.service ? `${listener(spec.port)}, a ${probe.service} service` : listener(spec.port) };
}

export async function portFacts(config: Config, env: Env): Promise<PortFact[]> {
  const specs = createPlan(config, env).services;
  return Promise.all(
    specs.map(async (s) => ({ title: s.title, portVar: PORT_VARS[s.name].port, host: s.host, port: s.port, state: await portState(s, config.apiToken) })),
  );
}

export interface GatherOptions {
  /** Look at the ports (default true); trinity up skips them once its services hold them. */
  ports?: boolean;
}

export async function gatherFacts(config: Config, env: Env, o: GatherOptions = {}): Promise<DoctorFacts> {
  const mem = hostMemory();
  const plan = createPlan(config, env).services.filter((s) => s.enabled && !s.external);
  const [home, ports] = await Promise.all([homeFact(config.home), o.ports === false ? null : portFacts(config, env)]);
  return {
    node: { version: process.version, execPath: process.execPath },
    host: { totalGb: mem.totalGb, availableGb: mem.availableGb },
    memoryNeeds: memoryNeeds(config, env),
    maxTotalMemoryGb: config.resources.maxTotalMemoryGb,
    home,
    ports,
    binds: plan.map((s) => ({ hostVar: PORT_VARS[s.name].host, host: s.host })),
    apiTokenSet: Boolean(config.apiToken),
    autoTraining: {
      enabled: config.training.autoTrainingEnabled,
      minExperiences: config.training.minExperiencesForTraining,
      checkIntervalSeconds: config.training.checkIntervalSeconds,
    },
  };
}
