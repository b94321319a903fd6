/**
 * Pools of training runners (`trinity worker --pool`): a label that JARVIS's placement picks and a worker
 * claims by. A reactor's own runner is 'local'; large jobs go to 'gpu' or 'cloud' when such workers are alive.
 */
export const WORKER_POOLS = ['local', 'cloud', 'gpu'] as const;
export type WorkerPool = (typeof WORKER_POOLS)[number];
export const DEFAULT_WORKER_POOL: WorkerPool = 'local';
