/**
 * Shapes of the reactor's answers and stream events (CONTRACT §3), checked at the edge so the CLI and
 * the coordinator can trust the fields they read. Objects are loose (unknown fields pass through) and
 * numbers are nullish: a reactor that adds a field or leaves a metric empty must not break a client.
 */
import { z } from 'zod';

const num = z.number().nullish();
const str = z.string().nullish();
/** Times are ISO strings in Trinity, but older reactors sent unix seconds. */
const time = z.union([z.string(), z.number()]).nullish();

export const JOB_STATUSES = ['queued', 'training', 'completed', 'failed', 'cancelled'] as const;
export const jobStatusValue = z.enum(JOB_STATUSES);

export const metricsSchema = z.looseObject({ loss: num, accuracy: num, val_loss: num, val_accuracy: num });

export const trainingStartResponseSchema = z.looseObject({
  job_id: z.string(),
  status: z.string(),
  message: str,
  started_at: time,
  estimated_duration_seconds: num,
});

export const trainingEstimateSchema = z.looseObject({
  model_type: z.string(),
  memory_bytes: z.number().nullable(),
  memory_gb: z.number().nullable(),
  basis: z.string(),
  examples: z.number(),
});

export const jobStatusSchema = z.looseObject({
  job_id: z.string(),
  model_type: str,
  status: jobStatusValue,
  epoch: num,
  total_epochs: num,
  loss: num,
  accuracy: num,
  metrics: metricsSchema.nullish(),
  model_version: str,
  error: str,
  started_at: time,
  completed_at: time,
  checkpoint: z.looseObject({ epoch: num, checkpoint_path: str }).nullish(),
  resumed_from_epoch: num,
});

/** `GET /api/training/jobs`: the contract says "recent jobs"; accept a bare array or `{jobs: [...]}`. */
export const jobListSchema = z.union([
  z.array(jobStatusSchema),
  z.looseObject({ jobs: z.array(jobStatusSchema) }).transform((o) => o.jobs),
]);

export const cancelResponseSchema = z.looseObject({ job_id: z.string(), status: z.string(), message: str });

export const healthSchema = z.looseObject({
  status: z.string(),
  service: str,
  version: str,
  uptime_seconds: num,
  active_training_jobs: num,
  experience_buffer_size: num,
  models_deployed: z.record(z.string(), z.string()).nullish(),
  problems: z.array(z.unknown()).nullish(),
});

export const resourcesSchema = z.looseObject({
  memory_usage_gb: num,
  memory_total_gb: num,
  memory_available_gb: num,
  cpu_percent: num,
  gpu_memory_gb: num,
  gpu_utilization_percent: num,
  active_training_jobs: num,
});

export const postExperiencesResponseSchema = z.looseObject({
  accepted: z.number(),
  duplicates: z.number(),
  rejected: z.array(z.looseObject({ index: z.number(), error: z.string() })),
});

export const experienceStatsSchema = z.record(
  z.string(),
  z.looseObject({ total: num, usable: num, new_since_last_training: num, last_trained_at: time }),
);

/** `GET /api/training/workers`: the training runners alive now, and how many per pool. */
export const trainingWorkersSchema = z.looseObject({
  workers: z.array(z.looseObject({ worker_id: z.string(), pool: z.string(), jobs: z.array(z.string()) })),
  pools: z.record(z.string(), z.number()),
});

/** `GET /api/models[/{type}]`: its shape is not pinned down by the contract yet, so only "an object". */
export const modelsSchema = z.looseObject({});

// ── stream event data, one schema per event name ─────────────────────────────
export const queuedEventSchema = z.looseObject({ job_id: z.string().optional(), status: str, position: num });
export const statusEventSchema = z.looseObject({
  job_id: z.string().optional(),
  status: str,
  epoch: num,
  total_epochs: num,
  loss: num,
  accuracy: num,
  val_loss: num,
  val_accuracy: num,
  samples_per_second: num,
  eta_seconds: num,
});
export const checkpointEventSchema = z.looseObject({
  job_id: z.string().optional(),
  epoch: num,
  checkpoint_path: str,
  metrics: metricsSchema.nullish(),
});
export const completedEventSchema = z.looseObject({
  job_id: z.string().optional(),
  status: str,
  model_version: str,
  metrics: metricsSchema.nullish(),
});
export const failedEventSchema = z.looseObject({ job_id: z.string().optional(), status: str, error: str });
export const cancelledEventSchema = z.looseObject({ job_id: z.string().optional(), status: str, message: str });

/** Event name → schema of its `data`; the keys are the only event names the stream may carry. */
export const jobEventSchemas = {
  queued: queuedEventSchema,
  status: statusEventSchema,
  checkpoint: checkpointEventSchema,
  completed: completedEventSchema,
  failed: failedEventSchema,
  cancelled: cancelledEventSchema,
} as const;
