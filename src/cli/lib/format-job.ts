/** Text for training jobs: one line per stream event, the end-of-job summary, status and job tables. */
import type { JobEvent, JobStatus, Metrics, TerminalJobEvent } from '../../client/index.js';
import { alignPairs, fmtDuration, fmtNum, fmtTime, table } from './format.js';

type StatusData = Extract<JobEvent, { event: 'status' }>['data'];

/** `epoch 3/10  loss 0.4100  acc 0.9200  val_loss 0.4500  val_acc 0.9000  812 samples/s  ETA 12s` */
export function formatStatusLine(d: StatusData): string {
  const parts = [
    `epoch ${d.epoch ?? '?'}/${d.total_epochs ?? '?'}`,
    `loss ${fmtNum(d.loss)}`,
    `acc ${fmtNum(d.accuracy)}`,
    `val_loss ${fmtNum(d.val_loss)}`,
    `val_acc ${fmtNum(d.val_accuracy)}`,
  ];
  if (typeof d.samples_per_second === 'number') parts.push(`${Math.round(d.samples_per_second)} samples/s`);
  parts.push(`ETA ${fmtDuration(d.eta_seconds)}`);
  return parts.join('  ');
}

/** One plain line per event, for logs and pipes (no cursor movement). Terminal events: see `formatSummary`. */
export function formatEventLine(e: JobEvent): string {
  switch (e.event) {
    case 'queued':
      return `queued${typeof e.data.position === 'number' ? ` (position ${e.data.position})` : ''}`;
    case 'status':
      return formatStatusLine(e.data);
    case 'checkpoint':
      return `checkpoint at epoch ${e.data.epoch ?? '?'}${e.data.checkpoint_path ? `: ${e.data.checkpoint_path}` : ''}`;
    default:
      return formatSummary(e, undefined).join('\n');
  }
}

export function formatMetrics(m: Metrics | null | undefined): string {
  if (!m) return 'no metrics';
  return `loss ${fmtNum(m.loss)}  acc ${fmtNum(m.accuracy)}  val_loss ${fmtNum(m.val_loss)}  val_acc ${fmtNum(m.val_accuracy)}`;
}

/** The last lines of a followed job: the new version and its metrics, or why it did not finish. */
export function formatSummary(t: TerminalJobEvent, modelType: string | undefined): string[] {
  const job = t.data.job_id ?? 'job';
  switch (t.event) {
    case 'completed': {
      const what = [modelType, t.data.model_version ?? '(no version)'].filter(Boolean).join(' ');
      return [`completed: ${what}`, `  ${formatMetrics(t.data.metrics)}`];
    }
    case 'failed':
      return [`failed: ${t.data.error ?? 'no reason given'}`, `  details: trinity status ${job}`];
    case 'cancelled':
      return [`cancelled: ${t.data.message ?? `job ${job} was cancelled`}`];
  }
}

/** `trinity status`: aligned pairs, leaving out what the job does not have yet. */
export function formatStatus(s: JobStatus): string[] {
  const pairs: Array<[string, string]> = [
    ['job', s.job_id],
    ['model type', s.model_type ?? '–'],
    ['status', s.status],
    ['epoch', `${s.epoch ?? 0}/${s.total_epochs ?? '?'}`],
  ];
  if (s.metrics || s.loss !== undefined) pairs.push(['metrics', formatMetrics(s.metrics ?? { loss: s.loss, accuracy: s.accuracy })]);
  if (s.model_version) pairs.push(['version', s.model_version]);
  if (s.error) pairs.push(['error', s.error]);
  pairs.push(['started', fmtTime(s.started_at)]);
  if (s.completed_at) pairs.push(['completed', fmtTime(s.completed_at)]);
  if (s.checkpoint) pairs.push(['checkpoint', `epoch ${s.checkpoint.epoch ?? '?'}${s.checkpoint.checkpoint_path ? ` at ${s.checkpoint.checkpoint_path}` : ''}`]);
  if (typeof s.resumed_from_epoch === 'number') pairs.push(['resumed from', `epoch ${s.resumed_from_epoch}`]);
  return alignPairs(pairs);
}

/** `trinity jobs`: one row per job, newest first as the reactor sends them. */
export function formatJobsTable(jobs: readonly JobStatus[]): string[] {
  const rows = jobs.map((j) => [
    j.job_id,
    j.model_type ?? '–',
    j.status,
    `${j.epoch ?? 0}/${j.total_epochs ?? '?'}`,
    fmtNum(j.metrics?.val_accuracy ?? j.metrics?.accuracy ?? j.accuracy),
    j.model_version ?? '–',
    fmtTime(j.started_at),
  ]);
  return table(['JOB', 'MODEL', 'STATUS', 'EPOCH', 'ACCURACY', 'VERSION', 'STARTED'], rows);
}
