import { chmodSync, existsSync, readFileSync, readdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ModelRegistry } from '../../src/registry/index.js';
import { ARTIFACTS, createFixture, type Fixture } from './helpers.js';

let f: Fixture;
beforeEach(() => {
  f = createFixture();
});
afterEach(() => f.close());

describe('ModelRegistry', () => {
  it('registers v1.0.0 first, then patch bumps v1.0.1, v1.0.2', async () => {
    expect((await f.registry.register(f.input('job-1'))).version).toBe('v1.0.0');
    expect((await f.registry.register(f.input('job-2'))).version).toBe('v1.0.1');
    expect((await f.registry.register(f.input('job-3'))).version).toBe('v1.0.2');
    expect((await f.registry.listVersions('nlu')).map((v) => v.version)).toEqual(['v1.0.2', 'v1.0.1', 'v1.0.0']);
    expect((await f.registry.latest('nlu'))?.version).toBe('v1.0.2');
  });

  it('raises minor and major parts when asked, and starts every type at v1.0.0 whatever the bump', async () => {
    expect((await f.registry.register(f.input('a', { bump: 'major' }))).version).toBe('v1.0.0');
    await f.registry.register(f.input('b'));
    expect((await f.registry.register(f.input('c', { bump: 'minor' }))).version).toBe('v1.1.0');
    expect((await f.registry.register(f.input('d', { bump: 'major' }))).version).toBe('v2.0.0');
    expect((await f.registry.register(f.input('e', { modelType: 'voice' }))).version).toBe('v1.0.0');
    // Numeric, not string, order: v1.10.0 would sort below v1.9.0 as text.
    for (let i = 0; i < 9; i++) await f.registry.register(f.input(`m${i}`, { bump: 'minor' }));
    expect((await f.registry.latest('nlu'))?.version).toBe('v2.9.0');
  });

  it('makes the first version of a type stable and leaves later ones available', async () => {
    await f.registry.register(f.input('job-1'));
    await f.registry.register(f.input('job-2'));
    expect((await f.registry.stable('nlu'))?.version).toBe('v1.0.0');
    expect((await f.registry.listVersions('nlu')).map((v) => [v.version, v.status])).toEqual([
      ['v1.0.1', 'available'],
      ['v1.0.0', 'stable'],
    ]);
    expect(await f.registry.stable('vision')).toBeUndefined();
  });

  it('returns the existing version when the same job registers again, without a second folder', async () => {
    const first = await f.registry.register(f.input('job-1'));
    const again = await f.registry.register(f.input('job-1', { bump: 'major', metrics: { loss: 9 } }));
    expect(again).toEqual(first);
    expect(readdirSync(join(f.modelsDir, 'nlu'))).toEqual(['v1.0.0']);
  });

  it('serialises concurrent registrations of one type into distinct versions', async () => {
    const results = await Promise.all(['a', 'b', 'c', 'a'].map((id) => f.registry.register(f.input(id))));
    expect(results.map((r) => r.version).sort()).toEqual(['v1.0.0', 'v1.0.0', 'v1.0.1', 'v1.0.2']);
    expect(results[0]).toEqual(results[3]);
  });

  it('rejects the same job for another model type with TRN_ERR_MODEL_JOB_CONFLICT', async () => {
    await f.registry.register(f.input('job-1'));
    await expect(f.registry.register(f.input('job-1', { modelType: 'voice' }))).rejects.toMatchObject({
      code: 'TRN_ERR_MODEL_JOB_CONFLICT',
      statusCode: 409,
    });
  });

  it('writes manifest.json with metrics, counts, job, digest, files and extras', async () => {
    const v = await f.registry.register(f.input('job-1', { extra: { architecture: 'fasttext-64' } }));
    const dir = await f.registry.pathOf('nlu', 'v1.0.0');
    expect(dir).toBe(join(f.modelsDir, 'nlu', 'v1.0.0'));
    const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
    expect(manifest).toEqual({
      manifest_version: 1,
      model_type: 'nlu',
      version: 'v1.0.0',
      created_at: v.createdAt,
      job_id: 'job-1',
      metrics: { loss: 0.25, accuracy: 0.9, val_loss: 0.3, val_accuracy: 0.88 },
      experience_counts: { train: 80, validation: 20, total: 100 },
      digest: v.digest,
      files: [
        { path: 'model.json', bytes: 16, sha256: expect.stringMatching(/^[0-9a-f]{64}$/) },
        { path: 'weights/w1.bin', bytes: 3, sha256: 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad' },
        { path: 'weights/w2.bin', bytes: 4, sha256: expect.stringMatching(/^[0-9a-f]{64}$/) },
      ],
      architecture: 'fasttext-64',
    });
    expect(v.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect((await f.registry.get('nlu', 'v1.0.0')).manifest).toEqual(manifest);
    for (const [rel, content] of Object.entries(ARTIFACTS)) expect(readFileSync(join(dir, rel), 'utf8')).toBe(content);
  });

  it('creates files 0600 and folders 0700', async () => {
    await f.registry.register(f.input('job-1'));
    const dir = await f.registry.pathOf('nlu', 'v1.0.0');
    for (const d of [f.modelsDir, join(f.modelsDir, 'nlu'), dir, join(dir, 'weights')]) {
      expect(statSync(d).mode & 0o777, d).toBe(0o700);
    }
    for (const p of ['manifest.json', 'model.json', 'weights/w1.bin']) expect(statSync(join(dir, p)).mode & 0o777, p).toBe(0o600);
  });

  it('verifies an untouched version and reports a tampered, missing or added file', async () => {
    await f.registry.register(f.input('job-1'));
    const dir = await f.registry.pathOf('nlu', 'v1.0.0');
    const clean = await f.registry.verify('nlu', 'v1.0.0');
    expect(clean).toMatchObject({ ok: true, problems: [] });
    expect(clean.actual).toBe(clean.expected);

    chmodSync(join(dir, 'weights/w1.bin'), 0o600);
    writeFileSync(join(dir, 'weights/w1.bin'), 'abd');
    const tampered = await f.registry.verify('nlu', 'v1.0.0');
    expect(tampered.ok).toBe(false);
    expect(tampered.actual).not.toBe(tampered.expected);
    expect(tampered.problems).toEqual(['weights/w1.bin: sha256 differs']);

    writeFileSync(join(dir, 'weights/w1.bin'), 'abc');
    writeFileSync(join(dir, 'extra.bin'), 'x');
    expect((await f.registry.verify('nlu', 'v1.0.0')).problems).toEqual(['extra.bin: not in the manifest']);
  });

  it('reports a manifest.json whose digest was edited', async () => {
    const v = await f.registry.register(f.input('job-1'));
    const path = join(await f.registry.pathOf('nlu', v.version), 'manifest.json');
    const manifest = JSON.parse(readFileSync(path, 'utf8'));
    writeFileSync(path, JSON.stringify({ ...manifest, digest: `sha256:${'0'.repeat(64)}` }));
    const r = await f.registry.verify('nlu', v.version);
    expect(r.ok).toBe(false);
    expect(r.problems[0]).toMatch(/^manifest\.json: digest sha256:0+ differs$/);
  });

  it('rejects exports with symlinks, a manifest.json of their own, or no files, leaving no version behind', async () => {
    const withLink = f.exportOf(ARTIFACTS);
    symlinkSync('/etc/passwd', join(withLink, 'link'));
    const withManifest = f.exportOf({ 'manifest.json': '{}', 'a.bin': 'a' });
    const empty = f.exportOf({});
    for (const sourceDir of [withLink, withManifest, empty, join(f.root, 'missing')]) {
      await expect(f.registry.register(f.input('job-x', { sourceDir }))).rejects.toMatchObject({
        code: 'TRN_ERR_MODEL_ARTIFACTS_INVALID',
      });
    }
    expect(readdirSync(join(f.modelsDir, 'nlu'))).toEqual([]);
    expect(await f.registry.listVersions('nlu')).toEqual([]);
  });

  it('rejects bad arguments with TRN_ERR_MODEL_REGISTRY_INVALID_ARGUMENT naming the field', async () => {
    const cases = [
      [{ bump: 'huge' }, 'bump'],
      [{ jobId: '' }, 'jobId'],
      [{ metrics: { loss: 'low' } }, 'metrics.loss'],
      [{ counts: { train: -1 } }, 'counts.train'],
      [{ extra: { digest: 'mine' } }, 'extra'],
    ] as const;
    for (const [override, field] of cases) {
      const input = { ...f.input('job-1'), ...override } as Parameters<ModelRegistry['register']>[0];
      await expect(f.registry.register(input)).rejects.toMatchObject({
        code: 'TRN_ERR_MODEL_REGISTRY_INVALID_ARGUMENT',
        message: expect.stringContaining(`ModelRegistry ${field} must be`),
      });
    }
  });

  it('rejects unknown model types and path-like versions with 400 before touching the disk', async () => {
    await f.registry.register(f.input('job-1'));
    const badVersions = ['../x', 'v1.0.0/../../', '..', 'v1.0', 'v01.0.0', 'v1.0.0-rc.1', '1.0.0', 'v1.0.0 ', `v${'9'.repeat(40)}.0.0`];
    for (const version of badVersions) {
      await expect(f.registry.pathOf('nlu', version), version).rejects.toMatchObject({ code: 'TRN_ERR_MODEL_INVALID_VERSION', statusCode: 400 });
      await expect(f.registry.get('nlu', version)).rejects.toMatchObject({ statusCode: 400 });
      await expect(f.registry.verify('nlu', version)).rejects.toMatchObject({ statusCode: 400 });
    }
    for (const type of ['../x', '../../etc', 'nlu/../voice', 'NLU', '']) {
      await expect(f.registry.listVersions(type), type).rejects.toMatchObject({ code: 'TRN_ERR_MODEL_UNKNOWN_TYPE', statusCode: 400 });
      await expect(f.registry.pathOf(type, 'v1.0.0')).rejects.toMatchObject({ statusCode: 400 });
    }
    await expect(f.registry.register(f.input('job-2', { modelType: '../x' as 'nlu' }))).rejects.toMatchObject({ statusCode: 400 });
    expect(existsSync(join(f.root, 'x'))).toBe(false);
  });

  it('answers ModelNotFound (404) for a well-formed version that is not registered', async () => {
    expect(await f.registry.has('nlu', 'v1.0.0')).toBe(false);
    await expect(f.registry.get('nlu', 'v1.0.0')).rejects.toMatchObject({ code: 'TRN_ERR_MODEL_NOT_FOUND', statusCode: 404 });
    await expect(f.registry.pathOf('nlu', 'v1.0.0')).rejects.toMatchObject({ statusCode: 404 });
  });

  it('lists every built-in type, including those without versions', async () => {
    await f.registry.register(f.input('job-1'));
    const list = await f.registry.list();
    expect(list.map((s) => s.modelType)).toEqual(['voice', 'nlu', 'vision', 'embedding']);
    expect(list.find((s) => s.modelType === 'vision')).toEqual({ modelType: 'vision', stable: null, canary: null, canaryPercentage: 0, versions: [] });
    expect(list.find((s) => s.modelType === 'nlu')?.stable).toBe('v1.0.0');
  });

  it('refuses bad construction options naming the option', () => {
    expect(() => new ModelRegistry({ db: f.sql, modelsDir: '' })).toThrow(/ModelRegistry option modelsDir must be a non-empty path/);
    expect(() => new ModelRegistry({ db: f.sql, modelsDir: f.modelsDir, now: 5 as unknown as () => number })).toThrow(/option now/);
  });
});
