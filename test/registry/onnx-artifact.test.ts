/**
 * model.onnx in the registry: a real export's portable model is listed, digested and verified like every
 * artifact (and a changed byte is caught), and a version exported before model.onnx existed still
 * registers, verifies and serves.
 */
import { chmodSync, cpSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../../src/models/kernels/rng.js';
import { ONNX_DESCRIPTION_FILE, ONNX_MODEL_FILE } from '../../src/models/kernels/onnx-export.js';
import { createVoiceTrainer } from '../../src/models/voice/trainer.js';
import { loadVoicePredictor } from '../../src/models/voice/predictor.js';
import { fsddExamples, fsddRows } from '../fixtures/voice-fsdd.js';
import { createFixture, type Fixture } from './helpers.js';

let f: Fixture;
let exported: string;

beforeAll(async () => {
  f = createFixture();
  const rows = fsddRows();
  const trainer = createVoiceTrainer();
  const rng = new Rng(1);
  await trainer.init(fsddExamples([5, 6], rows), fsddExamples([7], rows), { epochs: 1 }, rng);
  await trainer.runEpoch(1, rng, () => false);
  exported = join(f.root, 'voice-export');
  await mkdir(exported);
  await trainer.exportModel(exported);
  trainer.dispose();
});

afterAll(() => f.close());

const sha256 = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

describe('model.onnx in the registry', () => {
  it('is listed with its digest, verified, and a changed byte is reported', async () => {
    const description = JSON.parse(readFileSync(join(exported, ONNX_DESCRIPTION_FILE), 'utf8')) as unknown;
    const v = await f.registry.register(f.input('job-onnx', { modelType: 'voice', sourceDir: exported, extra: { onnx: description } }));
    const details = await f.registry.get('voice', v.version);
    const dir = await f.registry.pathOf('voice', v.version);
    for (const name of [ONNX_MODEL_FILE, ONNX_DESCRIPTION_FILE]) {
      expect(details.manifest.files.find((x) => x.path === name)?.sha256, name).toBe(sha256(join(exported, name)));
    }
    expect(details.manifest.onnx).toEqual(description);
    expect(await f.registry.verify('voice', v.version)).toMatchObject({ ok: true });
    // The registered copy is a model onnxruntime opens.
    const session = await ort.InferenceSession.create(readFileSync(join(dir, ONNX_MODEL_FILE)));
    expect(session.outputNames).toEqual(['logits', 'probabilities']);
    await session.release();

    const path = join(dir, ONNX_MODEL_FILE);
    const bytes = readFileSync(path);
    bytes[bytes.length - 1] ^= 1;
    chmodSync(path, 0o600);
    writeFileSync(path, bytes);
    expect((await f.registry.verify('voice', v.version)).problems).toEqual([`${ONNX_MODEL_FILE}: sha256 differs`]);
  });

  it('registers, verifies and serves an export from before model.onnx (no onnx in its manifest)', async () => {
    const old = join(f.root, 'voice-export-old');
    cpSync(exported, old, { recursive: true });
    for (const name of [ONNX_MODEL_FILE, ONNX_DESCRIPTION_FILE]) rmSync(join(old, name));
    const v = await f.registry.register(f.input('job-old', { modelType: 'voice', sourceDir: old }));
    const details = await f.registry.get('voice', v.version);
    expect(details.manifest.files.map((x) => x.path)).not.toContain(ONNX_MODEL_FILE);
    expect(details.manifest).not.toHaveProperty('onnx');
    expect(await f.registry.verify('voice', v.version)).toMatchObject({ ok: true });
    const predictor = await loadVoicePredictor(await f.registry.pathOf('voice', v.version));
    const clip = fsddExamples([9]).slice(0, 1)[0];
    expect(predictor.predict(clip.input)).toHaveProperty('user');
  });
});
