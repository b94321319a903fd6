/** Request, answer and event types of the reactor client. Answers are inferred from ./schemas.ts. */
import type { z } from 'zod';
import type {
  cancelResponseSchema,
  experienceStatsSchema,
  healthSchema,
  jobEventSchemas,
  jobStatusSchema,
  jobStatusValue,
  metricsSchema,
  modelsSchema,
  postExperiencesResponseSchema,
  resourcesSchema,
  trainingEstimateSchema,
  trainingStartResponseSchema,
  trainingWorkersSchema,
} from './schemas.js';

/** One experience as sent on the wire (CONTRACT §2); the reactor validates it. */
export type ExperienceInput = Record<string, unknown>;

export interface TrainingStartRequest {
  /** Same id again means the same job (idempotent start). */
  job_id?: string;
  model_type: string;
  /** Absent: train on the reactor's buffer for this model type. */
  experiences?: ExperienceInput[];
  config?: { learning_rate?: number; batch_size?: number; model_architecture?: string };
  epochs?: number;
  checkpoint_enabled?: boolean;
  checkpoint_interval?: number;
  dataset_path?: string;
  use_dropbox?: boolean;
  fencing_token?: number;
  /** Which pool of `trinity worker`s may train it ('local' when absent). */
  worker_pool?: string;
}

export interface JobsFilter {
  status?: string;
  model_type?: string;
  /** Most jobs to return (the reactor's default is 50, its maximum 500). */
  limit?: number;
}

export type JobStatusValue = z.infer<typeof jobStatusValue>;
export type Metrics = z.infer<typeof metricsSchema>;
export type TrainingStartResponse = z.infer<typeof trainingStartResponseSchema>;
/** POST /api/training/estimate: the job's peak memory as its trainer estimates it; null without an estimate. */
export type TrainingEstimate = z.infer<typeof trainingEstimateSchema>;
export type JobStatus = z.infer<typeof jobStatusSchema>;
export type CancelResponse = z.infer<typeof cancelResponseSchema>;
export type HealthReport = z.infer<typeof healthSchema>;
export type ResourcesReport = z.infer<typeof resourcesSchema>;
export type PostExperiencesResponse = z.infer<typeof postExperiencesResponseSchema>;
export type ExperienceStats = z.infer<typeof experienceStatsSchema>;
export type TrainingWorkers = z.infer<typeof trainingWorkersSchema>;
export type ModelsResponse = z.infer<typeof modelsSchema>;

/** Event name → its data, as CONTRACT §3 "Streams" defines them. */
export type JobEventMap = { [K in keyof typeof jobEventSchemas]: z.infer<(typeof jobEventSchemas)[K]> };
export type JobEventName = keyof JobEventMap;
export type TerminalEventName = 'completed' | 'failed' | 'cancelled';

/**
 * One event of a job's log. `id` is its sequence number in the log; it is undefined for events the
 * client made up while polling `status` because the stream was unavailable.
 */
export type JobEvent = { [K in JobEventName]: { id: number | undefined; event: K; data: JobEventMap[K] } }[JobEventName];
export type TerminalJobEvent = Extract<JobEvent, { event: TerminalEventName }>;

/** How following a job ended. */
export type JobStreamEnd =
  | { reason: 'terminal'; terminal: TerminalJobEvent; lastEventId: string | undefined }
  | { reason: 'aborted'; lastEventId: string | undefined };

/** Per-call options shared by every request. */
export interface CallOptions {
  /** Aborts the request; the promise rejects with the signal's reason. */
  signal?: AbortSignal;
}
