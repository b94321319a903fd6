/**
 * The training service and its runner over the jobs store on SQLite and Postgres: a job trains to the end
 * with a gapless event log, and a cancel from a second service without a runner (another process, on its
 * own handle) reaches the runner through the database. Trainers run from dist/ (build it first).
 */
import { afterEach, expect, it } from 'vitest';
import { createTrainingData } from '../../src/experiences/index.js';
import { ExperienceStore } from '../../src/experiences/experiences-store.js';
import type { SqlDb } from '../../src/store/sql.js';
import { JobStore } from '../../src/training/jobs-store.js';
import { TrainingService, type VersionPort } from '../../src/training/training-service.js';
import { tempHome, waitFor } from '../helpers/processes.js';
import { trainingDefaults } from '../helpers/training-service.js';
import { readSnips, snipsExperiences } from '../helpers/snips.js';
import { describeStores } from './harness.js';

const experiences = snipsExperiences(readSnips('train').filter((_, i) => i % 10 === 0));
const open: TrainingService[] = [];
afterEach(async () => {
  for (const s of open.splice(0)) await s.close();
});

function service(db: SqlDb, home: string, trainHere = true): TrainingService {
  const versions: VersionPort = { register: async () => ({ version: 'v1.0.0' }) };
  const s = new TrainingService({
    jobs: new JobStore(db),
    data: createTrainingData(new ExperienceStore(db)),
    versions,
    ...trainingDefaults(home),
    trainHere,
    leaseTtlSeconds: 3,
  });
  open.push(s);
  s.recover();
  return s;
}

describeStores('training service over the jobs store', (fresh) => {
  it('trains a job to the end with events numbered 1..n, and a second service cancels another through the database', async () => {
    const { db, another } = await fresh();
    const home = tempHome('trinity-runs-');
    const trains = service(db, home);
    const asks = service(await another(), home, false);
    expect(await trains.start({ job_id: 'done', model_type: 'nlu', experiences, epochs: 2, config: { seed: 3 } })).toMatchObject({ status: 'started' });
    await waitFor(async () => (await asks.get('done'))?.status === 'completed', 60_000, 'the job to complete');
    const events = await asks.eventsSince('done', 0);
    expect(events.map((e) => e.id)).toEqual(events.map((_, i) => i + 1));
    expect(events[0].event).toBe('queued');
    expect(events.at(-1)).toMatchObject({ event: 'completed', data: { model_version: 'v1.0.0' } });

    await trains.start({ job_id: 'stop', model_type: 'nlu', experiences, epochs: 200, config: { seed: 3 } });
    await waitFor(async () => ((await asks.get('stop'))?.epoch ?? 0) >= 1, 60_000, 'the second job to train an epoch');
    expect(await asks.cancel('stop')).toMatchObject({ status: 'cancelled' });
    const stopped = await asks.eventsSince('stop', 0);
    expect(stopped.map((e) => e.id)).toEqual(stopped.map((_, i) => i + 1));
    expect(stopped.filter((e) => e.event === 'cancelled')).toHaveLength(1);
    expect(trains.activeJobCount()).toBe(0);
  }, 120_000);
});
