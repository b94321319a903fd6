/**
 * The big one: 13,784 real SNIPS utterances dropped as files of every form, with corrupt and duplicated
 * files, ingested by a real process that is SIGKILLed twice in the middle and started again. Each
 * experience must end up in the buffer exactly once, and every corrupt file in rejected/ with a reason.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isCandidateName, type RejectionRecord } from '../../src/experiences/index.js';
import { openDatabase } from '../../src/store/database.js';
import { ExperienceStore } from '../../src/experiences/experiences-store.js';
import { SqliteSql } from '../../src/store/sql.js';
import { buildSnipsDrop, type SnipsDrop } from './snips-drop.js';
import { tempDir, waitFor } from './helpers.js';
import { BIN } from '../helpers/processes.js';
import { spawn, type ChildProcess } from 'node:child_process';

const DIST_ENTRY = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
const CSV_ROWS = 13_784;

interface Run {
  child: ChildProcess;
  exited: Promise<number | null>;
}

/** The real `trinity reactor` on a free port: its intake drains the events folder. */
function startReactor(home: string): Run {
  const child = spawn(process.execPath, [BIN, 'reactor', '--port', '0'], {
    env: { ...process.env, JARVIS_HOME: home, EXPERIENCE_RECONCILE_INTERVAL: '0.5', LOG_LEVEL: 'silent' },
    stdio: 'ignore',
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, exited };
}

describe('ExperienceIntake on SNIPS', () => {
  let home: string;
  let events: string;
  let cleanup: () => void;
  let drop: SnipsDrop;

  beforeAll(() => {
    if (!existsSync(DIST_ENTRY)) throw new Error('dist/ is missing: run `npm run build` first (npm test does)');
    ({ dir: home, cleanup } = tempDir('trinity-snips-'));
    events = join(home, 'trinity', 'events');
    mkdirSync(events, { recursive: true });
    drop = buildSnipsDrop(events);
  });

  afterAll(() => cleanup());

  const leftInFolder = () => readdirSync(events).filter((n) => isCandidateName(n));

  it('builds one expected id per CSV row, duplicated rows included', () => {
    expect(drop.expectedIds.size).toBe(CSV_ROWS);
    expect(drop.files.length).toBeGreaterThan(600);
  });

  it('ends with every experience exactly once after two SIGKILLs mid-ingestion', async () => {
    const total = drop.files.length;
    // Two runs killed hard part-way, then one that drains the folder. In name order the 21st file is
    // followed by copy-of-experiences_nlu_1736895345.json (3,000 items, three transactions), so the
    // first kill most likely lands inside a file that is partly committed.
    for (const killAfter of [21, 150]) {
      const run = startReactor(home);
      await waitFor(() => leftInFolder().length <= total - killAfter, 30_000, `${killAfter} files ingested`, 5);
      run.child.kill('SIGKILL');
      await run.exited;
      const left = leftInFolder().length;
      expect(left, 'killed after some files were gone but not all').toBeGreaterThan(0);
      expect(left).toBeLessThan(total);
    }
    const run = startReactor(home);
    await waitFor(() => leftInFolder().length === 0, 40_000, 'the events folder to drain');
    run.child.kill('SIGTERM');
    expect(await run.exited).toBe(0);

    const db = openDatabase({ path: join(home, 'trinity.db') });
    try {
      const store = new ExperienceStore(new SqliteSql(db));
      const nlu = (await store.stats()).types.nlu;
      expect(nlu).toMatchObject({ total: CSV_ROWS, usable: CSV_ROWS, unusable: 0, negative_feedback: 0 });
      expect(await store.size()).toBe(CSV_ROWS);
      const ids = new Set((db.prepare('SELECT id FROM experiences').pluck().all() as string[]));
      expect([...drop.expectedIds].filter((id) => !ids.has(id))).toEqual([]);
      const { train, validation } = await store.dataset('nlu');
      expect(train.length + validation.length).toBe(CSV_ROWS);
      expect(validation.length / CSV_ROWS).toBeGreaterThan(0.08);
      expect(validation.length / CSV_ROWS).toBeLessThan(0.12);
      expect(new Set(train.map((e) => e.label)).size).toBe(7);
    } finally {
      db.close();
    }
  });

  it('leaves in-flight files alone and every corrupt file in rejected/ with its reason', () => {
    expect(readdirSync(events).filter((n) => n !== 'rejected').sort()).toEqual([...drop.inFlight].sort());
    const rejectedDir = join(events, 'rejected');
    const files = readdirSync(rejectedDir).filter((n) => !n.startsWith('.'));
    for (const name of [...drop.rejectedWhole, ...drop.rejectedPart]) {
      expect(files).toContain(name);
      const why = JSON.parse(readFileSync(join(rejectedDir, `${name}.error.json`), 'utf8')) as RejectionRecord;
      expect(why).toMatchObject({ file: name, error: expect.any(String), details: expect.any(String), rejected_at: expect.any(String) });
    }
    expect(files).toHaveLength(2 * (drop.rejectedWhole.length + drop.rejectedPart.length));
    const envelopePart = JSON.parse(readFileSync(join(rejectedDir, drop.rejectedPart[0]), 'utf8')) as { payload: { experiences: unknown[] } };
    expect(envelopePart.payload.experiences).toEqual(['not an experience', null]);
    expect(readFileSync(join(rejectedDir, drop.rejectedPart[1]), 'utf8')).toBe('{"type": "command", "input": {"text": "cut off\n');
  });
});
