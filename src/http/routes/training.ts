/** Training API (CONTRACT §3): start, status, stream, cancel, job list. */
import type { FastifyPluginAsync } from 'fastify';
import type { TrainingService } from '../../training/training-service.js';
import { streamEventLog } from '../event-stream.js';
import { TrainingJobNotFound, TrainingInvalidRequest } from '../../errors.js';
import { TERMINAL_JOB_STATUSES, type JobStatus } from '../../training/jobs-store.js';

export interface TrainingRoutesOptions {
  training: TrainingService;
}

const TERMINAL_EVENTS = new Set(['completed', 'failed', 'cancelled']);
const JOB_STATUSES = new Set(['queued', 'training', 'completed', 'failed', 'cancelled']);

export const trainingRoutes: FastifyPluginAsync<TrainingRoutesOptions> = async (app, { training }) => {
  app.post('/api/training/start', async (req) => training.start(req.body));

  app.post('/api/training/estimate', async (req) => training.estimate(req.body));

  app.get<{ Params: { jobId: string } }>('/api/training/status/:jobId', async (req) => training.status(req.params.jobId));

  app.post<{ Params: { jobId: string } }>('/api/training/cancel/:jobId', async (req) => training.cancel(req.params.jobId));

  app.get<{ Querystring: { status?: string; model_type?: string; limit?: string } }>('/api/training/jobs', async (req) => {
    const { status, model_type, limit } = req.query;
    if (status !== undefined && !JOB_STATUSES.has(status)) {
      throw TrainingInvalidRequest(`status must be one of ${[...JOB_STATUSES].join(', ')}, got ${JSON.stringify(status)}`);
    }
    const n = limit === undefined ? 50 : Number(limit);
    if (!Number.isInteger(n) || n < 1 || n > 500) throw TrainingInvalidRequest(`limit must be an integer 1-500, got ${JSON.stringify(limit)}`);
    return { jobs: await training.list({ status, modelType: model_type, limit: n }) };
  });

  app.get('/api/training/workers', async () => training.workers());

  app.get<{ Params: { jobId: string } }>('/api/training/stream/:jobId', async (req, reply) => {
    const jobId = req.params.jobId;
    if (!(await training.get(jobId))) throw TrainingJobNotFound();
    streamEventLog(req, reply, {
      since: (after) => training.eventsSince(jobId, after),
      subscribe: (notify) => {
        const listener = (id: string) => {
          if (id === jobId) notify();
        };
        training.on('event', listener);
        return () => training.off('event', listener);
      },
      isTerminal: (e) => TERMINAL_EVENTS.has(e.event),
      isFinished: async () => TERMINAL_JOB_STATUSES.includes((await training.get(jobId))?.status as JobStatus),
    });
  });
};
