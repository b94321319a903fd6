/**
 * A full or read-only disk while training: a clear 503 instead of a 500 at start, and a finished job that
 * waits (health problem listed) and registers once the disk is writable again, instead of failing for good.
 * The disk faults come through the service's seams (its dataset writer, its VersionPort), so these run
 * anywhere; storage-trouble-disk.test.ts does the same with a real reactor on real full and read-only mounts.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createTrainingData } from '../../src/experiences/index.js';
import { ModelRegistry } from '../../src/registry/index.js';
import { openDatabase } from '../../src/store/database.js';
import { SqliteSql } from '../../src/store/sql.js';
import { ExperienceStore } from '../../src/experiences/experiences-store.js';
import { JobStore } from '../../src/training/jobs-store.js';
import { TrainingService, type TrainingServiceOptions, type VersionPort } from '../../src/training/training-service.js';
import { tempHome, waitFor } from '../helpers/processes.js';
import { trainingDefaults } from '../helpers/training-service.js';
import { readSnips, snipsExperiences } from '../helpers/snips.js';

const experiences = snipsExperiences(readSnips('train').filter((_, i) => i % 10 === 0));
const open: TrainingService[] = [];
afterEach(async () => {
  for (const s of open.splice(0)) await s.close();
});

function diskError(code: 'ENOSPC' | 'EROFS', path: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: cannot write, open '${path}'`), { code, path });
}

function service(extra: Partial<TrainingServiceOptions> & { versions?: VersionPort } = {}) {
  const home = tempHome('trinity-storage-');
  const db = openDatabase({ path: join(home, 'trinity.db') });
  const jobs = new JobStore(new SqliteSql(db));
  const registry = new ModelRegistry({ db: new SqliteSql(db), modelsDir: join(home, 'models') });
  const training = new TrainingService({
    jobs,
    data: createTrainingData(new ExperienceStore(new SqliteSql(db))),
    versions: registry,
    ...trainingDefaults(home),
    ...extra,
  });
  open.push(training);
  return { home, jobs, registry, training };
}

const body = (jobId: string) => ({ job_id: jobId, model_type: 'nlu', experiences, epochs: 2, config: { seed: 3 } });

describe('training on a full or read-only disk', () => {
  it('answers a start it cannot write a dataset for with a 503 naming the cause, and keeps no job', async () => {
    const { home, jobs, training } = service({
      writeDataset: (path) => {
        throw diskError('ENOSPC', path);
      },
    });
    let thrown: unknown;
    try {
      await training.start(body('full'));
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toMatchObject({ statusCode: 503, code: 'TRN_ERR_TRAINING_STORAGE_UNAVAILABLE', extra: { reason: 'ENOSPC' } });
    expect((thrown as Error).message).toMatch(/ENOSPC.*free disk space/);
    expect(await jobs.get('full')).toBeUndefined();
    expect(existsSync(join(home, 'checkpoints', 'full'))).toBe(false);
  });

  it('keeps a trained job whose registration hits a read-only models folder, lists the problem, and registers once it is writable', async () => {
    let failures = 2;
    const versions: VersionPort = {
      register: async (input) => {
        if (failures > 0) {
          failures -= 1;
          throw diskError('EROFS', join(input.sourceDir, '..', 'models'));
        }
        return registry.register(input);
      },
    };
    const { jobs, registry, training } = service({ versions, storageRetryMs: 300 });
    await training.start(body('ro'));
    const problem = await waitFor(() => training.problems()[0], 120_000, 'a storage problem');
    expect(problem).toMatch(/job ro waits for disk space or a writable folder: registering its model failed: .*EROFS/);
    expect((await jobs.get('ro'))?.status).toBe('training');

    await waitFor(async () => (await jobs.get('ro'))?.status === 'completed', 30_000, 'the job to complete');
    expect((await jobs.get('ro'))?.modelVersion).toBe('v1.0.0');
    expect(training.problems()).toEqual([]);
    const messages = (await jobs.eventsSince('ro', 0)).map((e) => e.data.message).filter(Boolean);
    expect(messages.some((m) => /waits for disk space/.test(String(m)))).toBe(true);

    // The same job id again says what really happened, not "started".
    expect(await training.start(body('ro'))).toMatchObject({ status: 'completed', message: expect.stringMatching(/already completed as v1\.0\.0/) });
    await jobs.update('ro', { status: 'failed', error: 'trainer process killed by SIGKILL' });
    expect(await training.start(body('ro'))).toMatchObject({ status: 'failed', message: expect.stringMatching(/already failed: trainer process killed by SIGKILL; start with another job_id/) });
  }, 180_000);
});
