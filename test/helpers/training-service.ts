/** The options every in-process TrainingService of the tests shares: one job at a time, files under `home`. */
import { join } from 'node:path';
import pino from 'pino';
import type { TrainingServiceOptions } from '../../src/training/training-service.js';

export function trainingDefaults(home: string): Omit<TrainingServiceOptions, 'jobs' | 'data' | 'versions'> {
  return {
    logger: pino({ level: 'silent' }),
    checkpointsRoot: join(home, 'checkpoints'),
    dropboxDir: join(home, 'dropbox'),
    maxConcurrentJobs: 1,
    maxQueuedJobs: 4,
    checkpointIntervalEpochs: 1,
    autoResume: true,
  };
}
