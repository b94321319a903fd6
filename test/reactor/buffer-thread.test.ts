/**
 * A start and an estimate over the experience buffer, which reactor runs on a thread of its own (SQLite):
 * the dataset file holds every usable row once, the estimate equals the trainer's own over the same rows,
 * and a buffer a classifier cannot learn from is refused with nothing left behind.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/config.js';
import { createTrainingData } from '../../src/experiences/index.js';
import { ExperienceStore } from '../../src/experiences/experiences-store.js';
import { getTrainerModule } from '../../src/models/index.js';
import { Reactor } from '../../src/reactor/reactor-service.js';
import { openDatabase } from '../../src/store/database.js';
import { SqliteSql } from '../../src/store/sql.js';
import { createLogger } from '../../src/util/logger.js';
import { tempHome } from '../helpers/processes.js';

const open: Reactor[] = [];
afterEach(async () => {
  for (const r of open.splice(0)) await r.close();
});

async function reactorWith(intents: string[], n: number) {
  const config = parseConfig({ JARVIS_HOME: tempHome(), REACTOR_CORE_PORT: '0' });
  const reactor = new Reactor({ config, logger: createLogger({ service: 'reactor', level: 'silent' }) });
  open.push(reactor);
  await reactor.start();
  // More than two pages of the buffer (DATASET_PAGE_ROWS).
  const experiences = Array.from({ length: n }, (_, i) => ({ type: 'command', input: { text: `${intents[i % intents.length]} request number ${i}` }, expected_output: { intent: intents[i % intents.length] } }));
  const posted = await reactor.app.inject({ method: 'POST', url: '/api/experiences', payload: { experiences } });
  expect(posted.json()).toMatchObject({ accepted: n });
  return { reactor, config };
}

describe('training over the buffer, read on a thread', () => {
  it('estimates what the trainer estimates over the same rows, and writes every row to the job dataset once', async () => {
    const { reactor, config } = await reactorWith(['play', 'weather', 'alarm'], 1200);
    const estimate = await reactor.app.inject({ method: 'POST', url: '/api/training/estimate', payload: { model_type: 'nlu', epochs: 3 } });
    expect(estimate.statusCode).toBe(200);
    const db = openDatabase({ path: config.databasePath });
    try {
      const { train, validation } = await createTrainingData(new ExperienceStore(new SqliteSql(db))).bufferDataset('nlu');
      const own = getTrainerModule('nlu').estimateMemory!(train, validation, { epochs: 3 });
      expect(estimate.json()).toMatchObject({ memory_bytes: own.bytes, basis: own.basis, examples: 1200 });
    } finally {
      db.close();
    }

    const started = await reactor.app.inject({ method: 'POST', url: '/api/training/start', payload: { model_type: 'nlu', job_id: 'from-buffer', epochs: 1 } });
    expect(started.statusCode).toBe(200);
    const lines = readFileSync(join(config.paths.checkpoints, 'from-buffer', 'dataset.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { id: string; split: string });
    expect(lines).toHaveLength(1200);
    expect(new Set(lines.map((l) => l.id)).size).toBe(1200);
    expect(lines.some((l) => l.split === 'validation')).toBe(true);
    const status = await reactor.app.inject({ method: 'GET', url: '/api/training/status/from-buffer' });
    expect(status.json()).toMatchObject({ job_id: 'from-buffer' });
  });

  it('refuses a buffer of one intent with a 400, at start and at estimate, and leaves no job and no dataset behind', async () => {
    const { reactor, config } = await reactorWith(['PlayMusic'], 1200);
    for (const url of ['/api/training/estimate', '/api/training/start']) {
      const res = await reactor.app.inject({ method: 'POST', url, payload: { model_type: 'nlu', job_id: 'one-class' } });
      expect(res.statusCode).toBe(400);
      expect(res.json<{ details: string }>().details).toMatch(/at least 2 classes; all \d+ training examples are labelled "PlayMusic"/);
    }
    expect(existsSync(join(config.paths.checkpoints, 'one-class'))).toBe(false);
    expect((await reactor.app.inject({ method: 'GET', url: '/api/training/status/one-class' })).statusCode).toBe(404);
  });
});
