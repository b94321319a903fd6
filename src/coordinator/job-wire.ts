/** A stored coordinator job → the TrainingJob JSON of the JARVIS API (CONTRACT §5). */
import { priorityName } from './trigger-request.js';
import type { CoordinatorJob, TrainingJobWire } from './types.js';

const iso = (seconds: number | null) => (seconds === null ? null : new Date(seconds * 1000).toISOString());

export function toJobWire(job: CoordinatorJob, view: { position?: number; waitingReason?: string | null } = {}): TrainingJobWire {
  const d = job.details;
  const finished = job.status === 'completed' || job.status === 'failed';
  return {
    job_id: job.jobId,
    model_type: job.modelType,
    priority: priorityName(job.priority),
    priority_value: job.priority,
    epochs: job.epochs,
    source: job.source,
    status: job.status,
    phase: job.status === 'running' ? (d.phase ?? null) : null,
    ...(view.position === undefined || finished ? {} : { position: view.position }),
    waiting_reason: view.waitingReason === undefined ? job.waitingReason : view.waitingReason,
    holder: job.holder,
    fencing_token: job.fencingToken,
    reactor_job_id: job.reactorJobId,
    placement: d.placement ?? null,
    attempts: d.attempts ?? [],
    progress: d.progress ?? null,
    model_version: job.modelVersion,
    metrics: d.metrics ?? null,
    deployment: d.deployment ?? null,
    error: job.error,
    created_at: iso(job.createdAt)!,
    started_at: iso(job.startedAt),
    completed_at: iso(job.finishedAt),
  };
}
