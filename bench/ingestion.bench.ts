/**
 * Ingestion throughput: experiences per second from files in the events folder to committed rows,
 * through the real ExperienceIntake (all four file forms), next to a bare better-sqlite3 insert of the
 * same rows with a SHA-256 each (the ceiling: what the database alone can take).
 */
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ExperienceIntake } from '../src/experiences/index.js';
import { openDatabase } from '../src/store/database.js';
import { ExperienceStore } from '../src/experiences/experiences-store.js';
import { SqliteSql } from '../src/store/sql.js';
import { readCsvRows } from './lib/data.js';
import type { BenchResult } from './lib/report.js';

const COPIES = 6;
const PER_FILE = 1000;

function experiences(): Record<string, unknown>[] {
  const rows = readCsvRows('nlu-snips/train.csv');
  const out: Record<string, unknown>[] = [];
  for (let c = 0; c < COPIES; c++) {
    rows.forEach(([text, intent], i) => out.push({ id: `b${c}-${i}`, type: 'command', input: { text }, expected_output: { intent }, success: true, confidence: 0.9 }));
  }
  return out;
}

/** Writes the experiences as files of the four forms in turn; returns the experiences written. */
function writeFiles(dir: string, all: Record<string, unknown>[]): Record<string, unknown>[] {
  mkdirSync(dir, { recursive: true });
  const written: Record<string, unknown>[] = [];
  for (let i = 0, n = 0; i < all.length; i += PER_FILE, n++) {
    const chunk = all.slice(i, i + PER_FILE);
    const form = n % 4;
    if (form === 0) writeFileSync(join(dir, `experiences_nlu_${n}.json`), JSON.stringify({ batch_id: `b${n}`, model_type: 'nlu', experiences: chunk, created_at: 0 }));
    else if (form === 1) writeFileSync(join(dir, `5_${n}_x.json`), JSON.stringify({ event_type: 'learning_signal', event_id: `e${n}`, payload: { experiences: chunk } }));
    else if (form === 2) writeFileSync(join(dir, `batch-${n}.jsonl`), chunk.map((e) => JSON.stringify(e)).join('\n'));
    // One experience per file is the slow form; 50 such files stand for it in each round.
    const taken = form === 3 ? chunk.slice(0, 50) : chunk;
    if (form === 3) taken.forEach((e, j) => writeFileSync(join(dir, `one-${n}-${j}.json`), JSON.stringify(e)));
    written.push(...taken);
  }
  // Dropped a minute ago (as while the service was down): settled files, read at once.
  const past = new Date(Date.now() - 60_000);
  for (const name of readdirSync(dir)) utimesSync(join(dir, name), past, past);
  return written;
}

export async function benchIngestion(): Promise<BenchResult> {
  const home = mkdtempSync(join(tmpdir(), 'trinity-bench-ingest-'));
  try {
    const events = join(home, 'events');
    const all = writeFiles(events, experiences());
    const db = openDatabase({ path: join(home, 'trinity.db') });
    const store = new ExperienceStore(new SqliteSql(db));
    const intake = new ExperienceIntake({ dir: events, store, watch: false, reconcileIntervalMs: 3_600_000 });
    const t0 = performance.now();
    await intake.start();
    const seconds = (performance.now() - t0) / 1000;
    await intake.close();
    const stored = await store.size();
    db.close();

    // The ceiling: the same rows straight into SQLite, hashed, in batches of 1,000.
    const db2 = openDatabase({ path: join(home, 'bare.db') });
    db2.exec('CREATE TABLE bare (seq INTEGER PRIMARY KEY, id TEXT UNIQUE, body TEXT)');
    const insert = db2.prepare('INSERT OR IGNORE INTO bare (id, body) VALUES (?, ?)');
    const batch = db2.transaction((rows: Record<string, unknown>[]) => {
      for (const r of rows) {
        const body = JSON.stringify(r);
        insert.run(createHash('sha256').update(body).digest('hex'), body);
      }
    });
    const t1 = performance.now();
    for (let i = 0; i < all.length; i += 1000) batch(all.slice(i, i + 1000));
    const bareSeconds = (performance.now() - t1) / 1000;
    db2.close();

    return {
      title: `Ingestion: ${stored.toLocaleString('en-US')} SNIPS experiences in four file forms → committed rows (target ≥ 20,000/s)`,
      command: 'npm run bench -- ingestion',
      rows: [
        { system: 'Trinity ExperienceIntake', experiences: stored, seconds, 'experiences/s': stored / seconds },
        { system: 'bare better-sqlite3 insert (ceiling)', experiences: all.length, seconds: bareSeconds, 'experiences/s': all.length / bareSeconds },
      ],
      notes: ['Trinity parses, validates, normalises, hashes, splits and commits each file, then deletes it; the ceiling only inserts.'],
    };
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}
