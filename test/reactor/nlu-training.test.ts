import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getJson, postJson, ROOT, DATA_DIR, startService, tempHome, waitFor, type ServiceProcess } from '../helpers/processes.js';
import { readSnips, snipsExperiences } from '../helpers/snips.js';

describe('Reactor nlu training', () => {
  let home: string;
  let reactor: ServiceProcess;

  beforeAll(async () => {
    home = tempHome();
    reactor = await startService('reactor', home, { EXPERIENCE_RECONCILE_INTERVAL: '0.5' });
  });
  afterAll(async () => {
    await reactor?.kill('SIGTERM');
  });

  it('trains on the SNIPS buffer to >= 0.97 accuracy on the test set, measured in a fresh process', async () => {
    const experiences = snipsExperiences(readSnips('train'));
    const events = join(home, 'trinity/events');
    mkdirSync(events, { recursive: true });
    for (let i = 0; i < experiences.length; i += 2000) {
      const lines = experiences.slice(i, i + 2000).map((e) => JSON.stringify(e)).join('\n');
      writeFileSync(join(events, `.snips-${i}.tmp`), lines);
      execFileSync('mv', [join(events, `.snips-${i}.tmp`), join(events, `snips-${i}.jsonl`)]);
    }
    await waitFor(async () => {
      const { body } = await getJson<{ nlu: { usable: number } }>(`${reactor.url}/api/experiences/stats`);
      return body.nlu.usable === experiences.length;
    }, 60_000, 'all SNIPS rows in the buffer');

    const start = await postJson(`${reactor.url}/api/training/start`, { model_type: 'nlu', job_id: 'snips-buffer', epochs: 5 });
    expect(start.status).toBe(200);
    expect(start.body).toMatchObject({ job_id: 'snips-buffer', status: expect.stringMatching(/started|queued/) });

    const done = await waitFor(async () => {
      const { body } = await getJson<{ status: string; model_version: string | null }>(`${reactor.url}/api/training/status/snips-buffer`);
      return body.status === 'completed' || body.status === 'failed' ? body : null;
    }, 120_000, 'job end');
    expect(done.status).toBe('completed');
    expect(done.model_version).toBe('v1.0.0');

    const stats = await getJson<{ nlu: { new_since_last_training: number } }>(`${reactor.url}/api/experiences/stats`);
    expect(stats.body.nlu.new_since_last_training).toBe(0);

    const dir = join(home, 'models/nlu/v1.0.0');
    const out = execFileSync(process.execPath, [join(ROOT, 'test/fixtures/evaluate-nlu.mjs'), dir, join(DATA_DIR, 'nlu-snips/test.csv')], { encoding: 'utf8' });
    const { n, accuracy } = JSON.parse(out) as { n: number; accuracy: number };
    expect(n).toBe(700);
    expect(accuracy).toBeGreaterThanOrEqual(0.97);
  }, 180_000);
});
