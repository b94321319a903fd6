/**
 * Gathers what `trinity doctor` checks: Node, the host's memory, what a job reserves, JARVIS_HOME (a real
 * temporary file is written there), its disk, the three ports and the settings. Separate from the checks so
 * those stay pure; everything here degrades to "unknown" rather than throwing.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { rm, statfs, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ReactorClient } from '../client/index.js';
import type { Config, Env } from '../config/config.js';
import { MODEL_TYPES } from '../model-types.js';
import { estimateNluMemory } from '../models/nlu/memory.js';
import { parseCsv } from '../util/csv.js';
import { createPlan, localUrl, pidListeningOn, probeHealth } from '../supervisor/index.js';
import type { ServiceName, ServiceSpec } from '../supervisor/index.js';
import { PRIVATE_FILE_MODE } from '../util/fs.js';
import { hostMemory, readStat } from '../util/proc.js';
import type { DoctorFacts, HomeFact, MemoryNeed, PortFact, PortState, StoppedHolder } from './types.js';

/** A health probe of whatever holds one of our ports; short, the doctor should answer at once. */
export const DOCTOR_PROBE_MS = 1_500;

const PORT_VARS: Record<ServiceName, { port: string; host: string }> = {
  reactor: { port: 'REACTOR_CORE_PORT', host: 'REACTOR_CORE_HOST' },
  prime: { port: 'JARVIS_PRIME_PORT', host: 'JARVIS_PRIME_HOST' },
  jarvis: { port: 'JARVIS_PORT', host: 'JARVIS_HOST' },
};

/** The first job a new user runs: one round of `trinity demo`, nlu on this many SNIPS experiences. */
export const DEMO_JOB_EXPERIENCES = 3_000;
const DEMO_CSV = fileURLToPath(new URL('../../data/nlu-snips/train.csv', import.meta.url));
const GB = 1024 ** 3;

/**
 * What training jobs reserve (CONTRACT §6): TRAINING_MEMORY_RESERVE_GB for every job when it is set; else
 * each job its trainer's own estimate. A running reactor answers that for the next job of each type over
 * the experiences it holds; when it is not running or holds none, the estimate of the demo's first nlu job
 * is computed here from the data that ships with Trinity, as the job a new user starts with.
 */
export async function memoryNeeds(config: Config, reactor: ReactorClient | null): Promise<MemoryNeed[]> {
  const reserve = config.resources.trainingMemoryReserveGb;
  if (reserve !== null) return [{ jobs: 'every job', gb: reserve, source: 'TRAINING_MEMORY_RESERVE_GB' }];
  const fromReactor = reactor ? await reactorEstimates(reactor) : [];
  return fromReactor.length > 0 ? fromReactor : demoJobNeed();
}

async function reactorEstimates(reactor: ReactorClient): Promise<MemoryNeed[]> {
  const answers = await Promise.all(
    MODEL_TYPES.map((type) =>
      reactor.estimateTraining({ model_type: type }, { signal: AbortSignal.timeout(DOCTOR_PROBE_MS) }).then(
        (e) => ({ type, e }),
        () => null, // not running, or no data of this type: nothing to estimate
      ),
    ),
  );
  return answers.flatMap((a) =>
    a && a.e.memory_bytes !== null ? [{ jobs: a.type, gb: a.e.memory_bytes / GB, source: `${a.type} estimate for the ${a.e.examples.toLocaleString('en-US')} experiences reactor holds` }] : [],
  );
}

function demoJobNeed(): MemoryNeed[] {
  if (!existsSync(DEMO_CSV)) return [];
  const rows = parseCsv(readFileSync(DEMO_CSV, 'utf8')).slice(1, 1 + DEMO_JOB_EXPERIENCES);
  const examples = rows.map(([text, intent], i) => ({ id: String(i), input: { text }, label: intent }));
  const e = estimateNluMemory(examples, [], { epochs: 1 }); // epochs do not change the peak
  return [{ jobs: 'nlu', gb: e.bytes / GB, source: `nlu estimate for the demo's first job, ${examples.length.toLocaleString('en-US')} experiences` }];
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

/** How much of a command line a finding quotes. */
const COMMAND_CHARS = 80;

/**
 * The processes in the stopped state (T: Ctrl-Z, SIGSTOP; t: a debugger) that hold the SQLite file (or
 * its -wal, -shm) open, from /proc; null where there is no /proc. Processes of other users cannot be
 * looked into and are left out.
 */
export function stoppedDatabaseHolders(databasePath: string): StoppedHolder[] | null {
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((d) => /^\d+$/.test(d));
  } catch {
    return null;
  }
  const files = new Set([databasePath, `${databasePath}-wal`, `${databasePath}-shm`]);
  const out: StoppedHolder[] = [];
  for (const dir of pids) {
    const pid = Number(dir);
    const state = readStat(pid)?.state;
    if (state !== 'T' && state !== 't') continue;
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue; // another user's, or gone
    }
    const holds = fds.some((fd) => {
      try {
        return files.has(readlinkSync(`/proc/${pid}/fd/${fd}`));
      } catch {
        return false;
      }
    });
    if (!holds) continue;
    let command = `process ${pid}`;
    try {
      command = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ').slice(0, COMMAND_CHARS) || command;
    } catch {
      // gone meanwhile: keep the pid
    }
    out.push({ pid, command });
  }
  return out;
}

export interface GatherOptions {
  /** Look at the ports (default true); trinity up skips them once its services hold them. */
  ports?: boolean;
  /** A client of the configured reactor, asked for the estimates of the jobs its experiences would make. */
  reactor?: ReactorClient;
}

export async function gatherFacts(config: Config, env: Env, o: GatherOptions = {}): Promise<DoctorFacts> {
  const mem = hostMemory();
  const plan = createPlan(config, env).services.filter((s) => s.enabled && !s.external);
  const [home, ports] = await Promise.all([homeFact(config.home), o.ports === false ? null : portFacts(config, env)]);
  return {
    node: { version: process.version, execPath: process.execPath },
    host: { totalGb: mem.totalGb, availableGb: mem.availableGb },
    memoryNeeds: await memoryNeeds(config, o.reactor ?? null),
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
    stoppedHolders: config.databaseUrl ? null : stoppedDatabaseHolders(config.databasePath),
  };
}
