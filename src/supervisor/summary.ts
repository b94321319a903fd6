/**
 * The startup summary, in the design's frame (a ruled block ending in "FULL MODE" or what is degraded),
 * with one table row per service and the deployed model versions under it.
 */
import { paint } from './log-format.js';
import type { DeployedModel, ServiceReport, StartFailure, UpReport } from './types.js';

export const RULE = '='.repeat(78);

export interface SummaryOptions {
  colour?: boolean;
  /** What `trinity doctor` finds stops training here, one `name: detail → fix` each; shown under the mode. */
  trainingProblems?: readonly string[];
  /** Where the services keep their state: `SQLite at <file>` or `Postgres at <url without password>`. */
  database?: string;
}

const HEADERS = ['service', 'pid', 'port', 'mode', 'healthy after', 'memory', 'status'] as const;

export function formatSummary(report: UpReport, opts: SummaryOptions = {}): string[] {
  const colour = opts.colour ?? false;
  const rows = report.services.map(row);
  const widths = HEADERS.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: readonly string[]) => '  ' + cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]))).join('  ');
  const database = opts.database === undefined ? [] : [`  database: ${opts.database}`];
  const out = [RULE, 'Startup summary', '', line(HEADERS), ...rows.map(line), '', ...database, ...formatModels(report.models), ''];
  const operational = report.services.filter((s) => s.status === 'healthy' || s.status === 'degraded').length;
  out.push(`${operational}/${report.services.length} services operational`);
  if (report.degraded.length === 0) {
    out.push(paint(colour, 'green', '✓ All services operational - FULL MODE'));
  } else {
    out.push(paint(colour, 'yellow', `! DEGRADED MODE (${report.degraded.length} ${report.degraded.length === 1 ? 'problem' : 'problems'}):`));
    for (const d of report.degraded) out.push(`    - ${d}`);
  }
  const blocked = opts.trainingProblems ?? [];
  if (blocked.length > 0) {
    out.push(paint(colour, 'red', `✗ training cannot start on this machine (trinity doctor):`));
    for (const p of blocked) out.push(`    - ${p}`);
  }
  out.push(RULE);
  return out;
}

function row(s: ServiceReport): string[] {
  return [
    s.title,
    s.pid === null ? '-' : String(s.pid),
    s.port === null ? '-' : String(s.port),
    s.mode,
    s.healthyAfterMs === null ? '-' : `${(s.healthyAfterMs / 1000).toFixed(1)} s`,
    s.memoryBytes === null ? (s.mode === 'disabled' ? '-' : 'unknown') : `${Math.round(s.memoryBytes / 1024 / 1024)} MB`,
    s.status,
  ];
}

/** The report as one JSON record in the wire's snake_case (`up --json`, supervisor.log). */
export function summaryRecord(report: UpReport): Record<string, unknown> {
  return {
    mode: report.degraded.length === 0 ? 'full' : 'degraded',
    services: report.services.map((s) => ({
      service: s.name,
      title: s.title,
      mode: s.mode,
      pid: s.pid,
      port: s.port,
      url: s.url,
      healthy_after_ms: s.healthyAfterMs,
      memory_bytes: s.memoryBytes,
      status: s.status,
      problems: s.problems,
    })),
    checks: report.checks,
    models: report.models?.map((m) => ({ model_type: m.modelType, stable: m.stable, canary: m.canary, canary_percentage: m.canaryPercentage })) ?? null,
    degraded: report.degraded,
  };
}

/** `nlu v1.0.3 (canary v1.0.4 at 25 %)`, one per type with anything deployed. */
export function formatModels(models: DeployedModel[] | null): string[] {
  if (models === null) return ['  deployed models: unknown (reactor not readable)'];
  const deployed = models.filter((m) => m.stable !== null || m.canary !== null);
  if (deployed.length === 0) return ['  deployed models: none yet (training deploys them)'];
  return [
    '  deployed models:',
    ...deployed.map((m) => {
      const canary = m.canary === null ? '' : `${m.stable === null ? '' : ' '}(canary ${m.canary} at ${m.canaryPercentage} %)`;
      return `    ${m.modelType.padEnd(10)} ${m.stable ?? ''}${canary}`;
    }),
  ];
}

/** What `up` prints when a service cannot start: reason, failing probe, last log lines, where the log is. */
export function formatFailure(f: StartFailure, formatLine: (line: string) => string, opts: SummaryOptions = {}): string[] {
  const out = [RULE, paint(opts.colour ?? false, 'red', `✗ ${f.reason}`)];
  if (f.probe) out.push(`  last probe: ${f.probe}`);
  if (f.lastLines.length > 0) {
    out.push(`  last ${f.lastLines.length} lines of ${f.service}:`);
    for (const l of f.lastLines) out.push(`    ${formatLine(l)}`);
  }
  if (f.logFile) out.push(`  full log: ${f.logFile}`);
  out.push(RULE);
  return out;
}
