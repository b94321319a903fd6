/** Shared fixtures for the registry tests: a temp folder, an in-memory database and a job's export. */
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { openDatabase, type Db } from '../../src/store/database.js';
import { SqliteSql, type SqlDb } from '../../src/store/sql.js';
import { ModelRegistry, type RegisterInput } from '../../src/registry/index.js';

export interface Fixture {
  root: string;
  modelsDir: string;
  db: Db;
  /** The store seam over `db`, which the registry runs on. */
  sql: SqlDb;
  registry: ModelRegistry;
  /** Writes a fake export (relative path → content) and returns its folder. */
  exportOf(files: Record<string, string>): string;
  input(jobId: string, overrides?: Partial<RegisterInput>): RegisterInput;
  close(): void;
}

export const ARTIFACTS = { 'model.json': '{"layers":[1,2]}', 'weights/w1.bin': 'abc', 'weights/w2.bin': 'defg' };

let clock = Date.parse('2025-01-15T12:00:00.000Z');

export function createFixture(): Fixture {
  const root = mkdtempSync(join(tmpdir(), 'trinity-registry-'));
  const modelsDir = join(root, 'models');
  const db = openDatabase({ path: ':memory:' });
  const sql = new SqliteSql(db);
  const registry = new ModelRegistry({ db: sql, modelsDir, now: () => (clock += 1000) });
  let exports = 0;
  const exportOf = (files: Record<string, string>): string => {
    const dir = join(root, `export-${exports++}`);
    for (const [rel, content] of Object.entries(files)) {
      mkdirSync(dirname(join(dir, rel)), { recursive: true });
      writeFileSync(join(dir, rel), content);
    }
    mkdirSync(dir, { recursive: true });
    return dir;
  };
  return {
    root,
    modelsDir,
    db,
    sql,
    registry,
    exportOf,
    input: (jobId, overrides = {}) => ({
      modelType: 'nlu',
      jobId,
      sourceDir: exportOf(ARTIFACTS),
      metrics: { loss: 0.25, accuracy: 0.9, val_loss: 0.3, val_accuracy: 0.88 },
      counts: { train: 80, validation: 20, total: 100 },
      ...overrides,
    }),
    close: () => {
      db.close();
      rmSync(root, { recursive: true, force: true });
    },
  };
}
