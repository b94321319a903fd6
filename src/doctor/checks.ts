/**
 * `trinity doctor`'s checks: each a pure function from the gathered facts to one result with its fix, so
 * each is tested on made-up machines. Order is the order they print.
 */
import { gb } from '../coordinator/index.js';
import { isLoopback } from '../config/config.js';
import type { CheckResult, DoctorFacts, MemoryNeed, PortFact } from './types.js';

/** The oldest Node package.json `engines` accepts. */
export const MIN_NODE = [22, 12] as const;
/** Below this much free space a checkpoint or a model version may not fit. */
export const MIN_FREE_DISK_BYTES = 1024 ** 3;
/** A disk fuller than this (share of its size free) fills up with a few more versions and logs. */
export const MIN_FREE_DISK_SHARE = 0.05;
/**
 * A threshold above this many new experiences per type is "never" for one assistant: at a few hundred
 * experiences a day it takes years.
 */
export const NEVER_MIN_EXPERIENCES = 100_000;
/** A safety-net interval longer than a day leaves experiences posted straight to reactor waiting that long. */
export const LONG_CHECK_INTERVAL_SECONDS = 86_400;

const ok = (name: string, detail: string): CheckResult => ({ name, status: 'ok', detail, fix: null });

export function checkNode(f: DoctorFacts): CheckResult {
  const [major = 0, minor = 0] = f.node.version.replace(/^v/, '').split('.').map(Number);
  const enough = major > MIN_NODE[0] || (major === MIN_NODE[0] && minor >= MIN_NODE[1]);
  const detail = `Node ${f.node.version} (${f.node.execPath})`;
  if (enough) return ok('node', detail);
  return { name: 'node', status: 'fail', detail: `${detail} < ${MIN_NODE.join('.')}`, fix: `install Node ${MIN_NODE.join('.')} or newer and run trinity with it` };
}

const largest = (needs: MemoryNeed[]): MemoryNeed | undefined => needs.reduce<MemoryNeed | undefined>((a, n) => (a && a.gb >= n.gb ? a : n), undefined);
const needText = (n: MemoryNeed) => `${gb(n.gb)} GB per ${n.jobs === 'every job' ? 'job' : `${n.jobs} job`} (${n.source})`;

/** The host's memory against what a job reserves: more than the host has is never; more than is free now waits. */
export function checkHostMemory(f: DoctorFacts): CheckResult {
  const name = 'host memory';
  const need = largest(f.memoryNeeds);
  const have = `host has ${gb(f.host.availableGb)} GB available of ${gb(f.host.totalGb)} GB`;
  if (!need) return ok(name, have);
  const tooBig = f.memoryNeeds.filter((n) => n.gb > f.host.totalGb);
  if (tooBig.length > 0) {
    return {
      name,
      status: 'fail',
      detail: `${have} < ${tooBig.map(needText).join(', ')}: such a job never starts`,
      fix: tooBig.some((n) => n.source === 'TRAINING_MEMORY_RESERVE_GB')
        ? `unset TRAINING_MEMORY_RESERVE_GB (each job then reserves its own estimate), or set it to at most ${gb(f.host.availableGb)} GB`
        : 'train on fewer experiences here, or send large jobs to a bigger machine (REACTOR_CLOUD_API_URL)',
    };
  }
  if (need.gb > f.host.availableGb) {
    return { name, status: 'warn', detail: `${have} < ${needText(need)}: jobs wait until that much is free`, fix: `close other programs${need.source === 'TRAINING_MEMORY_RESERVE_GB' ? ', or lower TRAINING_MEMORY_RESERVE_GB' : ''}` };
  }
  return ok(name, `${have} ≥ ${needText(need)}`);
}

/** MAX_TOTAL_MEMORY_GB caps J-Prime + Reactor-Core + the job; below one job's need nothing starts. */
export function checkMemoryCap(f: DoctorFacts): CheckResult {
  const name = 'MAX_TOTAL_MEMORY_GB';
  const need = largest(f.memoryNeeds);
  const cap = `MAX_TOTAL_MEMORY_GB ${gb(f.maxTotalMemoryGb)}`;
  if (need && f.maxTotalMemoryGb < need.gb) {
    return { name, status: 'fail', detail: `${cap} < ${needText(need)}: no job ever fits under it`, fix: `raise MAX_TOTAL_MEMORY_GB above ${gb(need.gb)} plus what J-Prime and Reactor-Core use, or lower TRAINING_MEMORY_RESERVE_GB` };
  }
  if (f.maxTotalMemoryGb > f.host.totalGb) {
    return {
      name,
      status: 'warn',
      detail: `${cap} is more than the host's ${gb(f.host.totalGb)} GB: the cap never binds (the host's available memory still guards each start)`,
      fix: `set MAX_TOTAL_MEMORY_GB to at most ${gb(f.host.totalGb)}`,
    };
  }
  return ok(name, `${cap} ≤ host ${gb(f.host.totalGb)} GB`);
}

export function checkHomeWritable(f: DoctorFacts): CheckResult {
  const h = f.home;
  const name = 'JARVIS_HOME';
  if (h.writeError) {
    const where = h.exists ? h.path : `${h.triedDir} (JARVIS_HOME ${h.path} does not exist yet)`;
    return { name, status: 'fail', detail: `cannot write to ${where}: ${h.writeError}`, fix: `give this user write access to ${h.triedDir}, or set JARVIS_HOME to a writable folder` };
  }
  return ok(name, h.exists ? `${h.path} is writable` : `${h.path} does not exist yet; ${h.triedDir} is writable, so it is created on first start`);
}

export function checkDisk(f: DoctorFacts): CheckResult {
  const h = f.home;
  const name = 'disk';
  if (h.freeBytes === null || h.totalBytes === null) return { name, status: 'warn', detail: `free space under ${h.triedDir} unknown`, fix: null };
  const free = `${gb(h.freeBytes / 1024 ** 3)} GB free of ${gb(h.totalBytes / 1024 ** 3)} GB under ${h.triedDir}`;
  const fix = 'free some space, or set JARVIS_HOME to a folder on a bigger disk';
  if (h.freeBytes < MIN_FREE_DISK_BYTES) return { name, status: 'fail', detail: `${free}: checkpoints and model versions may not fit`, fix };
  if (h.totalBytes > 0 && h.freeBytes / h.totalBytes < MIN_FREE_DISK_SHARE) return { name, status: 'warn', detail: `${free}: less than ${MIN_FREE_DISK_SHARE * 100} % free`, fix };
  return ok(name, free);
}

function portLine(p: PortFact): { status: CheckResult['status']; text: string; fix: string | null } {
  const at = `${p.title} ${p.host}:${p.port}`;
  const move = `stop it, or set ${p.portVar} to a free port`;
  switch (p.state.kind) {
    case 'free':
      return { status: 'ok', text: `${at} free`, fix: null };
    case 'ephemeral':
      return { status: 'ok', text: `${p.title} picks a free port (${p.portVar}=0)`, fix: null };
    case 'ours':
      return { status: 'ok', text: `${at} is our own ${p.title}, running (${p.state.status}); trinity up adopts it`, fix: null };
    case 'not_launched':
      return { status: 'ok', text: `${p.title} ${p.state.why}`, fix: null };
    case 'other':
      return { status: 'fail', text: `${at} is taken by ${p.state.what}`, fix: move };
    case 'error':
      return { status: 'fail', text: `${at} cannot be bound (${p.state.code})`, fix: p.state.code === 'EACCES' ? `set ${p.portVar} to a port above 1023` : `check the host setting, or set ${p.portVar}` };
  }
}

/** One line for the three ports; the worst decides. */
export function checkPorts(f: DoctorFacts): CheckResult | null {
  if (!f.ports) return null;
  const lines = f.ports.map(portLine);
  const bad = lines.filter((l) => l.status !== 'ok');
  if (bad.length === 0) return ok('ports', lines.map((l) => l.text).join('; '));
  return { name: 'ports', status: 'fail', detail: bad.map((l) => l.text).join('; '), fix: bad.map((l) => l.fix).join('; ') };
}

/** A service bound beyond loopback without TRINITY_API_TOKEN refuses to start (it would serve anyone). */
export function checkBinding(f: DoctorFacts): CheckResult {
  const open = f.binds.filter((b) => !isLoopback(b.host));
  if (open.length === 0) return ok('binding', 'every service binds to loopback');
  const list = open.map((b) => `${b.hostVar}=${b.host}`).join(', ');
  if (f.apiTokenSet) return ok('binding', `${list}, protected by TRINITY_API_TOKEN`);
  return { name: 'binding', status: 'fail', detail: `${list} without TRINITY_API_TOKEN: those services refuse to start`, fix: 'set TRINITY_API_TOKEN to a long random secret, or bind to 127.0.0.1' };
}

/** Settings under which auto-training never (or hardly ever) starts a job; `trinity train` still works. */
export function checkAutoTraining(f: DoctorFacts): CheckResult {
  const a = f.autoTraining;
  const name = 'auto-training';
  if (!a.enabled) return { name, status: 'warn', detail: 'AUTO_TRAINING_ENABLED=false: JARVIS never queues a job on its own', fix: 'set AUTO_TRAINING_ENABLED=true, or start jobs with trinity train' };
  if (a.minExperiences > NEVER_MIN_EXPERIENCES) {
    return {
      name,
      status: 'warn',
      detail: `MIN_EXPERIENCES_FOR_TRAINING ${a.minExperiences}: a type needs that many new experiences per job, years for one assistant`,
      fix: 'lower MIN_EXPERIENCES_FOR_TRAINING (default 100)',
    };
  }
  if (a.checkIntervalSeconds > LONG_CHECK_INTERVAL_SECONDS) {
    return {
      name,
      status: 'warn',
      detail: `TRAINING_CHECK_INTERVAL ${a.checkIntervalSeconds} s: experiences posted straight to Reactor-Core wait that long (those sent through JARVIS are checked within seconds)`,
      fix: 'lower TRAINING_CHECK_INTERVAL (default 300)',
    };
  }
  return ok(name, `a job per type after ${a.minExperiences} new experiences, checked as they arrive and every ${a.checkIntervalSeconds} s`);
}

/**
 * A process stopped in the middle of a write keeps SQLite's write lock until it resumes: every other
 * process's writes wait, then answer 503 TRN_ERR_STORE_BUSY. Stopped with the file open is reason enough
 * to say so (whether it is inside a write cannot be seen from outside).
 */
export function checkStoppedProcesses(f: DoctorFacts): CheckResult | null {
  const stopped = f.stoppedHolders;
  const name = 'stopped processes';
  if (stopped === null) return null;
  if (stopped.length === 0) return ok(name, 'no stopped process holds the database open');
  return {
    name,
    status: 'warn',
    detail: `${stopped.map((p) => `process ${p.pid} (${p.command})`).join(', ')} ${stopped.length === 1 ? 'is' : 'are'} stopped with the database open: stopped inside a write, ${stopped.length === 1 ? 'it holds' : 'they hold'} every other write (503 TRN_ERR_STORE_BUSY)`,
    fix: `resume with kill -CONT ${stopped.map((p) => p.pid).join(' ')} (or fg in its terminal), or end ${stopped.length === 1 ? 'it' : 'them'}`,
  };
}

/** Every check, in print order (ports only when they were looked at). */
export function runChecks(f: DoctorFacts): CheckResult[] {
  return [checkNode, checkHostMemory, checkMemoryCap, checkHomeWritable, checkDisk, checkPorts, checkBinding, checkAutoTraining, checkStoppedProcesses]
    .map((c) => c(f))
    .filter((r): r is CheckResult => r !== null);
}

/** True when something stops training here (the exit code of `trinity doctor`). */
export const blocksTraining = (results: readonly CheckResult[]) => results.some((r) => r.status === 'fail');
