import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getJson, postJson, ROOT, startService, tempHome, waitFor, type ServiceProcess } from '../helpers/processes.js';
import { fsddBase64, fsddRows } from '../fixtures/voice-fsdd.js';

/** FSDD clips as the experiences JARVIS sends for voice unlock. */
function voiceExperiences(indices: readonly number[]): Record<string, unknown>[] {
  return fsddRows()
    .filter((r) => indices.includes(r.index))
    .map((r) => ({ id: r.file, type: 'voice_auth', input: { audio: fsddBase64(r.file) }, expected_output: { user: r.speaker }, success: true }));
}

describe('Reactor voice training', () => {
  let home: string;
  let reactor: ServiceProcess;

  beforeAll(async () => {
    home = tempHome();
    reactor = await startService('reactor', home);
  });
  afterAll(async () => {
    await reactor?.kill('SIGTERM');
    if (home) rmSync(home, { recursive: true, force: true });
  });

  it('trains a servable voice version from FSDD experiences posted over HTTP, with its calibration in the export', async () => {
    const ingest = await postJson<{ accepted: number; rejected: unknown[] }>(`${reactor.url}/api/experiences`, { experiences: voiceExperiences([5, 6, 7, 10]) });
    expect(ingest.status).toBe(200);
    expect(ingest.body).toMatchObject({ accepted: 240, rejected: [] });

    const start = await postJson(`${reactor.url}/api/training/start`, { model_type: 'voice', job_id: 'fsdd-voice', epochs: 6 });
    expect(start.status).toBe(200);
    const done = await waitFor(async () => {
      const { body } = await getJson<{ status: string; model_version: string | null; error: string | null; metrics: { val_accuracy: number } }>(
        `${reactor.url}/api/training/status/fsdd-voice`,
      );
      return body.status === 'completed' || body.status === 'failed' ? body : null;
    }, 60_000, 'voice job end');
    expect(done.error).toBeNull();
    expect(done.status).toBe('completed');

    const dir = join(home, 'models/voice', String(done.model_version));
    const calibration = JSON.parse(readFileSync(join(dir, 'calibration.json'), 'utf8')) as { threshold: number; false_accept_rate: number; false_reject_rate: number };
    expect(calibration.threshold).toBeGreaterThan(0);
    expect(calibration.false_accept_rate).toBeLessThan(0.5);

    // The validation split is the job's own hash split; score a take it never saw at all.
    const unseen = voiceExperiences([14]);
    const file = join(home, 'voice-inputs.json');
    writeFileSync(file, JSON.stringify(unseen.map((e) => e.input)));
    const out = JSON.parse(execFileSync(process.execPath, [join(ROOT, 'test/fixtures/predict-inputs.mjs'), 'voice', dir, file], { encoding: 'utf8' })) as { user: string }[];
    const correct = out.filter((p, i) => p.user === (unseen[i].expected_output as { user: string }).user).length;
    expect(correct / unseen.length).toBeGreaterThanOrEqual(0.85);
  }, 90_000);
});
