/**
 * Bringing up one service: switched off, external (probed, never launched), already running (adopted),
 * or launched by us and waited for. Returns what the summary needs, or the failure with the last probe
 * and the service's last output lines.
 */
import { join } from 'node:path';
import type { ChildPool } from './child-pool.js';
import { describeExit } from './child-pool.js';
import { describeProbe, probeHealth, type ProbeResult } from './probe.js';
import { pidListeningOn } from './proc-info.js';
import { localUrl } from './plan.js';
import { waitHealthy, type HealthOutcome } from './wait-healthy.js';
import type { ChildExit, ServiceMode, ServiceSpec, StartFailure, StepKind } from './types.js';

/** What came up, as the later phases and the summary need it. */
export interface Running {
  spec: ServiceSpec;
  mode: ServiceMode;
  /** Where it answers; null when disabled. */
  url: string | null;
  port: number | null;
  pid: number | null;
  healthyAfterMs: number | null;
  /** healthy, degraded, down, disabled. */
  status: string;
  problems: string[];
}

export interface BringUpContext {
  pool: ChildPool;
  env: Record<string, string | undefined>;
  token?: string;
  logsDir: string;
  startPeriodMs: number;
  degradedGraceMs: number;
  signal: AbortSignal;
  step: (kind: StepKind, message: string) => void;
}

export type BringUpResult = { ok: true; running: Running } | { ok: false; failure: StartFailure };

const ENABLE_VARS: Record<string, string> = { reactor: 'REACTOR_CORE_ENABLED', prime: 'JARVIS_PRIME_ENABLED' };

export async function bringUp(spec: ServiceSpec, ctx: BringUpContext): Promise<BringUpResult> {
  if (ctx.signal.aborted) return fail(spec, ctx, `start of ${spec.title} interrupted`, null, null);
  const base = { spec, healthyAfterMs: null, problems: [] as string[] };
  if (!spec.enabled) {
    ctx.step('info', `${spec.title} disabled (${ENABLE_VARS[spec.name] ?? 'switched off'}=false)`);
    return { ok: true, running: { ...base, mode: 'disabled', url: null, port: null, pid: null, status: 'disabled' } };
  }
  const probe = () => probeHealth(spec.url, spec.healthPaths, { token: ctx.token });
  if (spec.external) return { ok: true, running: await external(spec, ctx, probe) };
  if (spec.adoptable) {
    ctx.step('info', `Probing ${spec.title} at ${spec.url}…`);
    const first = await probe();
    if (first.state !== 'down') {
      if (spec.serviceId !== null && first.service !== null && first.service !== spec.serviceId) {
        return fail(spec, ctx, `port ${spec.port} is taken by ${first.service}, not ${spec.serviceId}`, first, null);
      }
      return adopt(spec, ctx, probe, first);
    }
    ctx.step('info', `${spec.title} not running (${first.error ?? first.problems.join('; ')}), launching…`);
    return launch(spec, ctx, first);
  }
  return launch(spec, ctx, null);
}

async function external(spec: ServiceSpec, ctx: BringUpContext, probe: () => Promise<ProbeResult>): Promise<Running> {
  ctx.step('info', `Probing external ${spec.title} at ${spec.url} (JARVIS_PRIME_URL: probed, never launched)…`);
  const started = Date.now();
  let last = await probe();
  // Only a J-Prime that answers "still loading" is worth waiting for; one that is not there will not appear.
  if (last.state === 'starting') {
    const outcome = await wait(spec, ctx, probe);
    last = outcome.last ?? last;
  }
  const port = portOf(spec.url);
  const pid = port !== null && isLocal(spec.url) ? pidListeningOn(port) : null;
  const up = last.state === 'healthy' || last.state === 'degraded';
  ctx.step(up ? 'ok' : 'fail', up ? `External ${spec.title} ${last.state} (${describeProbe(last)})` : `External ${spec.title} not answering: ${describeProbe(last)}`);
  return {
    spec,
    mode: 'external',
    url: spec.url,
    port,
    pid,
    healthyAfterMs: up ? Date.now() - started : null,
    status: up ? last.state : 'down',
    problems: up ? last.problems : [describeProbe(last)],
  };
}

async function adopt(spec: ServiceSpec, ctx: BringUpContext, probe: () => Promise<ProbeResult>, first: ProbeResult): Promise<BringUpResult> {
  const started = Date.now();
  const pid = isLocal(spec.url) ? pidListeningOn(spec.port) : null;
  ctx.step('info', `${spec.title} already running${pid ? ` (PID: ${pid})` : ''}: adopting it, it will not be stopped on exit`);
  let last = first;
  if (first.state === 'starting') {
    const outcome = await wait(spec, ctx, probe);
    if (!outcome.ok) return fail(spec, ctx, reasonOf(spec, outcome), outcome.last ?? first, null);
    last = outcome.last;
  }
  const running: Running = { spec, mode: 'adopted', url: spec.url, port: portOf(spec.url), pid, healthyAfterMs: Date.now() - started, status: last.state, problems: last.problems };
  report(spec, ctx, running);
  return { ok: true, running };
}

/** `before`: the adoption probe, reported when the child dies before any probe of its own got an answer. */
async function launch(spec: ServiceSpec, ctx: BringUpContext, before: ProbeResult | null): Promise<BringUpResult> {
  // Checked right before spawning: a child launched after close() began would never be stopped.
  if (ctx.signal.aborted) return fail(spec, ctx, `start of ${spec.title} interrupted`, null, null);
  const started = Date.now();
  const proc = ctx.pool.launch(spec.name, spec.port, ctx.env);
  let port = spec.port;
  void proc.listening.then((p) => (port = p));
  ctx.step('info', `${spec.title} launched (PID: ${proc.pid || 'none'})`);
  const probe = () => probeHealth(localUrl(spec.host, port), spec.healthPaths, { token: ctx.token });
  const outcome = await wait(spec, ctx, probe, { exited: proc.exited, ready: spec.port === 0 ? proc.listening : undefined });
  if (!outcome.ok) {
    const lines = await proc.lastLines();
    return fail(spec, ctx, reasonOf(spec, outcome), outcome.last ?? before, lines);
  }
  ctx.pool.supervise(spec.name, port);
  const running: Running = {
    spec,
    mode: 'started',
    url: localUrl(spec.host, port),
    port,
    pid: proc.pid,
    healthyAfterMs: Date.now() - started,
    status: outcome.state,
    problems: outcome.last.problems,
  };
  report(spec, ctx, running);
  return { ok: true, running };
}

function wait(spec: ServiceSpec, ctx: BringUpContext, probe: () => Promise<ProbeResult>, extra: { exited?: Promise<ChildExit>; ready?: Promise<unknown> } = {}): Promise<HealthOutcome> {
  return waitHealthy({
    probe,
    timeoutMs: spec.timeoutMs,
    startPeriodMs: ctx.startPeriodMs,
    degradedGraceMs: ctx.degradedGraceMs,
    signal: ctx.signal,
    ...extra,
    onStillWaiting: (last, elapsedMs) =>
      ctx.step('info', `${spec.title}: still waiting after ${(elapsedMs / 1000).toFixed(0)} s (${last ? describeProbe(last) : 'port not known yet'})`),
  });
}

function report(spec: ServiceSpec, ctx: BringUpContext, r: Running): void {
  const after = r.healthyAfterMs === null ? '' : ` after ${(r.healthyAfterMs / 1000).toFixed(1)} s`;
  if (r.status === 'degraded') ctx.step('warn', `${spec.title} degraded${after}: ${r.problems.join('; ')}`);
  else ctx.step('ok', `${spec.title} healthy${after}`);
}

function reasonOf(spec: ServiceSpec, o: Extract<HealthOutcome, { ok: false }>): string {
  if (o.reason === 'exited') return `${spec.title} exited before it was healthy (${describeExit(o.exit)})`;
  if (o.reason === 'aborted') return `start of ${spec.title} interrupted`;
  return `${spec.title} was not healthy within ${(spec.timeoutMs / 1000).toFixed(0)} s`;
}

function fail(spec: ServiceSpec, ctx: BringUpContext, reason: string, last: ProbeResult | null, lines: string[] | null): BringUpResult {
  ctx.step('fail', reason);
  return {
    ok: false,
    failure: {
      service: spec.name,
      title: spec.title,
      reason,
      probe: last ? describeProbe(last) : null,
      lastLines: lines ?? [],
      logFile: lines === null ? null : join(ctx.logsDir, `${spec.name}.log`),
      aborted: ctx.signal.aborted,
    },
  };
}

function portOf(url: string): number | null {
  try {
    const u = new URL(url);
    return u.port ? Number(u.port) : u.protocol === 'https:' ? 443 : 80;
  } catch {
    return null;
  }
}

/** /proc only knows this machine's processes. */
function isLocal(url: string): boolean {
  try {
    const h = new URL(url).hostname;
    return h === 'localhost' || h === '[::1]' || h === '::1' || /^127\./.test(h);
  } catch {
    return false;
  }
}
