/** Text for deployments and the model registry: decision lines, the end of a rollout, `trinity models`. */
import { z } from 'zod';
import type { DeploymentEvent, DeployResponse, RollbackResponse } from '../../client/index.js';
import { fmtNum, fmtTime, table } from './format.js';

/** `advanced     25 %  advance: 10 % → 25 %: error rate 0.010 ≤ 0.05 over 60 outcomes` */
export function formatDecisionLine(e: DeploymentEvent): string {
  const pct = typeof e.data.current_percentage === 'number' ? `${e.data.current_percentage} %` : '';
  return `${e.event.padEnd(11)}  ${pct.padStart(5)}  ${e.data.message ?? e.data.reason ?? ''}`.trimEnd();
}

export function formatDeployStarted(r: DeployResponse): string {
  return `deployment ${r.deployment_id} ${r.status}${r.message ? `: ${r.message}` : ''}`;
}

/** The last line of a followed rollout. */
export function formatDeployEnd(t: DeploymentEvent, id: string): string[] {
  const reason = t.data.reason ? ` (${t.data.reason})` : '';
  if (t.event === 'completed') return [`completed${reason}: ${t.data.model_version ?? 'the new version'} is stable`];
  const type = t.data.model_type ?? '';
  return [`${t.event.replace('_', ' ')}${reason}: ${t.data.message ?? ''}`.trimEnd(), `  deployment ${id}; what serves now: trinity models ${type}`.trimEnd()];
}

export function formatRollback(r: RollbackResponse): string {
  const from = r.previous_stable && r.previous_stable !== r.rolled_back_to ? ` (was ${r.previous_stable})` : '';
  return `${r.model_type} rolled back to ${r.rolled_back_to}${from}${r.aborted_deployment_id ? `; deployment ${r.aborted_deployment_id} ended` : ''}`;
}

const versionSchema = z.looseObject({
  version: z.string(),
  status: z.string().nullish(),
  created_at: z.string().nullish(),
  job_id: z.string().nullish(),
  metrics: z.record(z.string(), z.number().nullable()).nullish(),
});
const typeSchema = z.looseObject({
  stable: z.string().nullish(),
  canary: z.string().nullish(),
  canary_percentage: z.number().nullish(),
  deployment_id: z.string().nullish(),
  versions: z.array(versionSchema).nullish(),
});
/** `GET /api/models` or `GET /api/models/{type}`: both become type → summary. */
const modelsAnswerSchema = z.union([
  z.looseObject({ models: z.record(z.string(), typeSchema) }).transform((a) => a.models),
  z.looseObject({ model_type: z.string() }).and(typeSchema).transform((a) => ({ [a.model_type]: a })),
]);

type TypeSummary = z.infer<typeof typeSchema>;

function typeHeader(type: string, t: TypeSummary): string {
  const parts = [`${type}: stable ${t.stable ?? '–'}`];
  if (t.canary) parts.push(`canary ${t.canary} at ${t.canary_percentage ?? 0} %`);
  if (t.deployment_id) parts.push(`deployment ${t.deployment_id}`);
  return parts.join(', ');
}

/** `trinity models`: per type a header line, then its versions newest first. Returns null for an answer it cannot read. */
export function formatModels(answer: unknown): string[] | null {
  const parsed = modelsAnswerSchema.safeParse(answer);
  if (!parsed.success) return null;
  const lines: string[] = [];
  for (const [type, t] of Object.entries(parsed.data)) {
    if (lines.length > 0) lines.push('');
    lines.push(typeHeader(type, t));
    const versions = t.versions ?? [];
    if (versions.length === 0) {
      lines.push('  no versions yet');
      continue;
    }
    const rows = versions.map((v) => [v.version, v.status ?? '–', fmtNum(v.metrics?.val_accuracy), fmtTime(v.created_at), v.job_id ?? '–']);
    lines.push(...table(['VERSION', 'STATUS', 'VAL_ACC', 'CREATED', 'JOB'], rows).map((l) => `  ${l}`));
  }
  return lines;
}
