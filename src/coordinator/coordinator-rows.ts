/**
 * The stored shapes of the coordinator's tables (migration 3), kept apart from the domain types of
 * src/coordinator, with their conversions.
 */
import type { CoordinatorJob, CoordinatorJobStatus, JobDetails, JobSource, Lease } from './types.js';
import type { ModelType } from '../model-types.js';

export interface JobRow {
  seq: number;
  job_id: string;
  model_type: string;
  priority: number;
  epochs: number | null;
  source: string;
  status: string;
  holder: string | null;
  waiting_reason: string | null;
  trigger_count: number | null;
  fencing_token: number | null;
  reactor_job_id: string | null;
  model_version: string | null;
  error: string | null;
  details: string;
  created_at: number;
  started_at: number | null;
  finished_at: number | null;
  updated_at: number;
}

export interface LeaseRow {
  name: string;
  holder: string;
  token: number;
  job_id: string | null;
  acquired_at: number;
  expires_at: number;
  owner_host: string | null;
  owner_pid: number | null;
  owner_start: number | null;
}

export function jobFromRow(r: JobRow): CoordinatorJob {
  return {
    seq: r.seq,
    jobId: r.job_id,
    modelType: r.model_type as ModelType,
    priority: r.priority,
    epochs: r.epochs,
    source: r.source as JobSource,
    status: r.status as CoordinatorJobStatus,
    holder: r.holder,
    waitingReason: r.waiting_reason,
    triggerCount: r.trigger_count,
    fencingToken: r.fencing_token,
    reactorJobId: r.reactor_job_id,
    modelVersion: r.model_version,
    error: r.error,
    details: JSON.parse(r.details) as JobDetails,
    createdAt: r.created_at,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
    updatedAt: r.updated_at,
  };
}

export function leaseFromRow(r: LeaseRow): Lease {
  const owner = r.owner_host === null || r.owner_pid === null ? null : { host: r.owner_host, pid: r.owner_pid, startTime: r.owner_start };
  return { name: r.name, holder: r.holder, token: r.token, jobId: r.job_id, acquiredAt: r.acquired_at, expiresAt: r.expires_at, owner };
}
