/**
 * Hardening of the events folder (issue 14): entries that are not regular files, bytes that are not
 * UTF-8, experience types named after Object members, nesting deep enough to overflow JSON.stringify,
 * bounded .error.json files, and many files waiting at once.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ExperienceIntake, type RejectionRecord } from '../../src/experiences/index.js';
import { earliest } from '../../src/experiences/intake.js';
import { MAX_LISTED_ITEMS, MAX_REASON_CHARS } from '../../src/experiences/rejected-folder.js';
import type { ExperienceStore } from '../../src/experiences/experiences-store.js';
import { memoryStore, nlu, tempDir } from './helpers.js';

let dir: string;
let outside: { dir: string; cleanup: () => void };
let cleanup: () => void;
let store: ExperienceStore;
let intake: ExperienceIntake | null;

beforeEach(() => {
  ({ dir, cleanup } = tempDir());
  outside = tempDir('trinity-outside-');
  ({ store } = memoryStore());
  intake = null;
});

afterEach(async () => {
  await intake?.close();
  cleanup();
  outside.cleanup();
});

const longAgo = () => new Date(Date.now() - 60_000);

/** Writes a file and backdates it, so it is not taken for a write in progress. */
function put(name: string, content: string | Buffer | object): void {
  const path = join(dir, name);
  writeFileSync(path, typeof content === 'string' || Buffer.isBuffer(content) ? content : JSON.stringify(content));
  utimesSync(path, longAgo(), longAgo());
}

function create(): ExperienceIntake {
  intake = new ExperienceIntake({ dir, store, watch: false, reconcileIntervalMs: 60_000, settleMs: 300 });
  return intake;
}

/** Starts an intake over the folder; resolves with the errors it reported (a file it could not handle stays and is retried forever). */
async function drain(): Promise<unknown[]> {
  const errors: unknown[] = [];
  const i = create();
  i.on('error', (err) => errors.push(err));
  await i.start();
  return errors;
}

const remaining = () => readdirSync(dir).filter((n) => n !== 'rejected').sort();
const reason = (name: string) => JSON.parse(readFileSync(join(dir, 'rejected', `${name}.error.json`), 'utf8')) as RejectionRecord;
const ids = async () => (await (await store.stats())).totals.total;

describe('ExperienceIntake with odd input', () => {
  it('moves links, named pipes and folders to rejected/ with a reason, never following or opening them', async () => {
    writeFileSync(join(outside.dir, 'secret.json'), JSON.stringify(nlu('from outside', 'Leak')));
    symlinkSync(join(outside.dir, 'secret.json'), join(dir, 'link.json'));
    execFileSync('mkfifo', [join(dir, 'pipe.json')]);
    mkdirSync(join(dir, 'folder.json'));
    writeFileSync(join(dir, 'folder.json', 'inside.json'), JSON.stringify(nlu('nested', 'N')));
    put('good.json', nlu('good', 'G'));
    await create().start();
    expect(remaining()).toEqual([]);
    expect(await ids()).toBe(1);
    expect(reason('link.json')).toMatchObject({ error: 'not a regular file', details: expect.stringMatching(/^a symbolic link is never followed/) });
    expect(reason('pipe.json')).toMatchObject({ error: 'not a regular file', details: expect.stringMatching(/^a named pipe \(FIFO\) is never read/) });
    expect(reason('folder.json')).toMatchObject({ error: 'not a regular file', details: expect.stringMatching(/^a folder/) });
    // Moved as they are: the link still a link, its target untouched; the pipe still a pipe.
    expect(lstatSync(join(dir, 'rejected', 'link.json')).isSymbolicLink()).toBe(true);
    expect(lstatSync(join(dir, 'rejected', 'pipe.json')).isFIFO()).toBe(true);
    expect(existsSync(join(outside.dir, 'secret.json'))).toBe(true);
    // A second pipe of the same name does not make the intake open the first one to compare them.
    execFileSync('mkfifo', [join(dir, 'pipe.json')]);
    await intake!.scanNow();
    expect(remaining()).toEqual([]);
    expect(readdirSync(join(dir, 'rejected')).filter((n) => n.startsWith('pipe.') && !n.endsWith('.error.json'))).toHaveLength(2);
  });

  it('refuses bytes that are not UTF-8: the line of a JSON lines file, or the whole of another file', async () => {
    const latin1 = Buffer.from('{"type":"command","input":{"text":"caf\xe9"},"expected_output":{"intent":"Order"}}', 'latin1');
    put('mixed.jsonl', Buffer.concat([Buffer.from(`${JSON.stringify(nlu('one', 'A'))}\n`), latin1, Buffer.from(`\n${JSON.stringify(nlu('two', 'B'))}\n`)]));
    put('latin1.json', latin1);
    await create().start();
    expect(remaining()).toEqual([]);
    expect(await ids()).toBe(2);
    expect(reason('mixed.jsonl').items).toEqual([{ index: 1, error: 'line 2 is not valid UTF-8' }]);
    expect(reason('latin1.json')).toMatchObject({ error: 'not UTF-8', details: 'line 1 is not valid UTF-8; save the file as UTF-8 (JSON text must be)' });
    expect(readFileSync(join(dir, 'rejected', 'latin1.json'))).toEqual(latin1);
  });

  it('keeps experiences whose type is an Object member name as unusable, with their neighbours', async () => {
    const names = ['constructor', 'toString', 'valueOf', 'hasOwnProperty', '__proto__'];
    const batch = `{"model_type":null,"experiences":[${[...names.map((t) => `{"type":${JSON.stringify(t)},"input":{"text":"x ${t}"}}`), JSON.stringify(nlu('fine', 'F'))].join(',')}]}`;
    put('members.json', batch);
    expect(await drain()).toEqual([]);
    expect(remaining()).toEqual([]);
    expect((await store.stats()).totals).toMatchObject({ total: 6, untyped: 5 });
    expect((await store.stats()).types.nlu.usable).toBe(1);
  });

  it('refuses an experience nested thousands of levels deep with a reason and ingests its neighbours', async () => {
    // Built by hand: JSON.stringify itself overflows at this depth.
    const deepJson = `{"type":"command","input":{"text":"deep","extra":${'{"a":'.repeat(5000)}"bottom"${'}'.repeat(5000)}}}`;
    expect(JSON.parse(deepJson)).toBeTruthy();
    put('batch.json', `{"batch_id":"b","experiences":[${JSON.stringify(nlu('ok1', 'A'))},${deepJson},${JSON.stringify(nlu('ok2', 'B'))}]}`);
    put('lines.jsonl', `${JSON.stringify(nlu('ok3', 'A'))}\n${deepJson}\n`);
    expect(await drain()).toEqual([]);
    expect(remaining()).toEqual([]);
    expect(await ids()).toBe(3);
    const why = 'an experience may nest objects and arrays at most 64 levels deep';
    expect(reason('batch.json').items).toEqual([{ index: 1, error: why }]);
    expect(reason('lines.jsonl').items).toEqual([{ index: 1, error: why }]);
    // The refused line is kept as it was; the batch cannot be written out again, so it is kept whole.
    expect(readFileSync(join(dir, 'rejected', 'lines.jsonl'), 'utf8')).toBe(`${deepJson}\n`);
    expect(reason('batch.json').details).toMatch(/the whole file is kept here/);
  });

  it('writes a bounded .error.json: at most MAX_LISTED_ITEMS items, reasons cut short, invisible characters escaped', async () => {
    const bad = 2 * MAX_LISTED_ITEMS + 1;
    put('many.jsonl', `${JSON.stringify(nlu('good', 'G'))}\n${'not json\n'.repeat(bad)}`);
    put('odd.json', `\u202e\u0007${'x'.repeat(10 * MAX_REASON_CHARS)}`);
    await create().start();
    expect(await ids()).toBe(1);
    const many = reason('many.jsonl');
    expect(many.items).toHaveLength(MAX_LISTED_ITEMS);
    expect(many.items_omitted).toBe(bad - MAX_LISTED_ITEMS);
    expect(many.error).toBe(`${bad} of ${bad + 1} experiences rejected`);
    const odd = readFileSync(join(dir, 'rejected', 'odd.json.error.json'), 'utf8');
    expect(odd.includes('\u202e') || odd.includes('\u0007')).toBe(false);
    expect(reason('odd.json').details).toMatch(/\\u\{202e\}/);
    expect(odd.length).toBeLessThan(2 * MAX_REASON_CHARS);
  });
});

describe('waiting files', () => {
  it('finds the earliest of 200,000 retry times without spreading them into arguments', () => {
    const times = new Map<string, number>();
    for (let i = 0; i < 200_000; i++) times.set(`f${i}.jsonl`, 1_000_000 + ((i * 7919) % 200_000));
    expect(earliest(times.values())).toBe(1_000_000);
    expect(earliest([])).toBe(Infinity);
  });

  it('arms its retry timer with 200,000 files deferred (a spread of them threw a RangeError at start)', async () => {
    const i = create();
    // Filled directly: 200,000 real half-written files would cost minutes here for the same code path.
    const internals = i as unknown as { deferredUntil: Map<string, number>; armRetry(): void; retryTimer: NodeJS.Timeout | null };
    for (let n = 0; n < 200_000; n++) internals.deferredUntil.set(`f${n}.jsonl`, Date.now() + 60_000 + n);
    expect(() => internals.armRetry()).not.toThrow();
    expect(internals.retryTimer).not.toBeNull();
  });
});
