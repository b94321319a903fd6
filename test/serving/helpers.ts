/**
 * Real nlu versions for serving tests: a tiny model trained in this process on a slice of SNIPS, exported
 * and registered (twice, so there is a v1.0.0 and a v1.0.1) in a temporary MODEL_REGISTRY_DIR.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createNluTrainer } from '../../src/models/nlu/trainer.js';
import { Rng } from '../../src/models/kernels/rng.js';
import type { Example } from '../../src/models/index.js';
import { ModelRegistry } from '../../src/registry/index.js';
import { openDatabase } from '../../src/store/database.js';
import { SqliteSql } from '../../src/store/sql.js';
import { readSnips } from '../helpers/snips.js';
import { ensureDir } from '../../src/util/fs.js';

export interface NluVersions {
  /** Temporary root (JARVIS_HOME for service tests). */
  home: string;
  /** MODEL_REGISTRY_DIR under `home`. */
  modelsDir: string;
  versions: string[];
  /** Digest recorded for each version. */
  digests: Record<string, string>;
  cleanup(): void;
}

/** Trains `count` tiny nlu models (different seeds and row slices) and registers them as v1.0.0, v1.0.1, … */
export async function createNluVersions(count = 2, rowsPerModel = 300): Promise<NluVersions> {
  const home = mkdtempSync(join(tmpdir(), 'trinity-serving-'));
  const modelsDir = join(home, 'models');
  const db = openDatabase({ path: ':memory:' });
  const registry = new ModelRegistry({ db: new SqliteSql(db), modelsDir });
  const rows = readSnips('train');
  const versions: string[] = [];
  const digests: Record<string, string> = {};
  try {
    for (let m = 0; m < count; m++) {
      // An even stride through the file (it is grouped by intent), from a different offset per model.
      const stride = Math.floor(rows.length / rowsPerModel);
      const slice = rows.filter((_, i) => i % stride === m % stride).slice(0, rowsPerModel);
      const examples: Example[] = slice.map((r, i) => ({ id: `m${m}-${i}`, input: { text: r.text }, label: r.intent }));
      const trainer = createNluTrainer();
      const rng = new Rng(1000 + m);
      await trainer.init(examples, [], { epochs: 2 }, rng);
      await trainer.runEpoch(0, rng, () => false);
      await trainer.runEpoch(1, rng, () => false);
      const out = ensureDir(join(home, `export-${m}`));
      await trainer.exportModel(out);
      trainer.dispose();
      const info = await registry.register({ modelType: 'nlu', jobId: `job-${m}`, sourceDir: out, metrics: { val_accuracy: 0.9 }, counts: { train: slice.length } });
      versions.push(info.version);
      digests[info.version] = info.digest;
    }
  } finally {
    db.close();
  }
  return { home, modelsDir, versions, digests, cleanup: () => rmSync(home, { recursive: true, force: true }) };
}
