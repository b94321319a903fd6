/**
 * JARVIS training API (CONTRACT §5): trigger a job, read the queue in run order with each job's waiting
 * reason, and look jobs up once they have left the queue.
 */
import type { FastifyPluginAsync } from 'fastify';
import { CoordinatorInvalidRequest } from '../../errors.js';
import { parseTriggerRequest, toJobWire, type JobQueue, type TrainingJobWire } from '../../coordinator/index.js';

export interface JarvisTrainingRoutesOptions {
  queue: JobQueue;
  /** Why the local reactor cannot be used now, or null (shown on every queued job). */
  reactorProblem: () => string | null;
}

/** Jobs listed by `GET /api/training/jobs` at most. */
export const MAX_JOBS_LISTED = 500;

export const jarvisTrainingRoutes: FastifyPluginAsync<JarvisTrainingRoutesOptions> = async (app, { queue, reactorProblem }) => {
  const viewOf = async (jobId: string): Promise<TrainingJobWire> => {
    const inQueue = (await queue.view(reactorProblem())).find((j) => j.job_id === jobId);
    return inQueue ?? toJobWire(await queue.get(jobId));
  };

  app.post('/api/training/trigger', async (req) => {
    const t = parseTriggerRequest(req.body);
    const { job, created } = await queue.enqueue({ modelType: t.modelType, priority: t.priority, epochs: t.epochs, source: 'manual' });
    req.log.info({ job_id: job.jobId, model_type: job.modelType, created }, created ? 'training job queued' : 'training job of this type already queued');
    // `created: false`: the type already had a queued job (one per type); that job is the answer.
    return { ...(await viewOf(job.jobId)), created };
  });

  app.get('/api/training/queue', async () => {
    const jobs = await queue.view(reactorProblem());
    return { length: jobs.filter((j) => j.status === 'queued').length, running: jobs.filter((j) => j.status === 'running').length, jobs };
  });

  app.get<{ Querystring: { limit?: string } }>('/api/training/jobs', async (req) => {
    const n = req.query.limit === undefined ? 50 : Number(req.query.limit);
    if (!Number.isInteger(n) || n < 1 || n > MAX_JOBS_LISTED) throw CoordinatorInvalidRequest(`limit must be an integer 1-${MAX_JOBS_LISTED}, got ${JSON.stringify(req.query.limit)}`);
    return { jobs: (await queue.recent(n)).map((j) => toJobWire(j)) };
  });

  app.get<{ Params: { jobId: string } }>('/api/training/jobs/:jobId', async (req) => viewOf(req.params.jobId));
};
