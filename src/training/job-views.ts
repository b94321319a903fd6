/** Pure helpers that shape jobs for the wire: status views, rounded figures, derived seeds. */
import { createHash } from 'node:crypto';
import type { JobRecord } from './jobs-store.js';
import type { StartRequest } from './job-request.js';
import type { EpochReport } from './trainer-protocol.js';

export const iso = (seconds: number | null) => (seconds === null ? null : new Date(seconds * 1000).toISOString());

export function seedFromJobId(jobId: string): number {
  return createHash('sha256').update(jobId).digest().readUInt32LE(0);
}

export function requestRecord(req: StartRequest): Record<string, unknown> {
  const { experiences: _experiences, ...rest } = req;
  return { ...rest, inline: req.experiences !== undefined };
}

export function round(x: number): number {
  return Number.isFinite(x) ? Math.round(x * 1e6) / 1e6 : x;
}

export function metricsOf(r: EpochReport): Record<string, number> {
  return { loss: round(r.loss), accuracy: round(r.accuracy), val_loss: round(r.val_loss), val_accuracy: round(r.val_accuracy) };
}

export function roundReport(r: EpochReport): Record<string, number> {
  return {
    epoch: r.epoch,
    total_epochs: r.total_epochs,
    ...metricsOf(r),
    samples_per_second: Math.round(r.samples_per_second),
    eta_seconds: Math.round(r.eta_seconds * 10) / 10,
  };
}

/** GET /api/training/status shape (CONTRACT §3). */
export function statusView(job: JobRecord): Record<string, unknown> {
  const m = job.metrics ?? {};
  return {
    job_id: job.jobId,
    model_type: job.modelType,
    status: job.status,
    epoch: job.epoch,
    total_epochs: job.totalEpochs,
    loss: m.loss ?? null,
    accuracy: m.accuracy ?? null,
    metrics: { loss: m.loss ?? null, accuracy: m.accuracy ?? null, val_loss: m.val_loss ?? null, val_accuracy: m.val_accuracy ?? null },
    model_version: job.modelVersion,
    error: job.error,
    created_at: iso(job.createdAt),
    started_at: iso(job.startedAt),
    completed_at: iso(job.completedAt),
    checkpoint: job.checkpoint,
    resumed_from_epoch: job.resumedFromEpoch,
    experiences: job.datasetSize,
    // Who trains it (or last did) and the pool it may run on: the dashboard shows both.
    worker_id: job.workerId,
    worker_pool: job.workerPool,
  };
}
