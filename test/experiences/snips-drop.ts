/**
 * The SNIPS training set dropped into an events folder as files of all four forms, plus corrupt files,
 * duplicated files and in-flight files: what a busy JARVIS (and a clumsy user) would leave behind.
 */
import { readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { contentId } from '../../src/experiences/index.js';
import { parseCsvObjects } from '../../src/util/csv.js';
import { DATA_DIR } from '../helpers/processes.js';

export const SNIPS_TRAIN_CSV = join(DATA_DIR, 'nlu-snips/train.csv');

export interface SnipsDrop {
  /** Every id the buffer must hold at the end, one per CSV row. */
  expectedIds: Set<string>;
  /** Processable files written (the folder is "empty" when none is left). */
  files: string[];
  /** Whole files that must end in rejected/. */
  rejectedWhole: string[];
  /** Files of which only some items must end in rejected/. */
  rejectedPart: string[];
  /** Files the intake must leave alone. */
  inFlight: string[];
}

type Experience = Record<string, unknown>;

export function buildSnipsDrop(dir: string): SnipsDrop {
  const rows = parseCsvObjects(readFileSync(SNIPS_TRAIN_CSV, 'utf8'));
  const seen = new Map<string, number>();
  for (const r of rows) seen.set(`${r.text}\u0000${r.intent}`, (seen.get(`${r.text}\u0000${r.intent}`) ?? 0) + 1);
  // Rows whose text and intent repeat in the CSV get an id (so each counts); the others are identified
  // by their content hash, which exercises that path at scale.
  // Rows 3000–7999 go into spec batches without `type`: the batch's model_type must apply.
  const experiences: Experience[] = rows.map((r, i) => {
    const e: Experience = { input: { text: r.text }, expected_output: { intent: r.intent }, success: true };
    if (i < 3000 || i >= 8000) e.type = 'command';
    return (seen.get(`${r.text}\u0000${r.intent}`) ?? 0) > 1 ? { id: `snips-train-${i}`, ...e } : e;
  });
  const expectedIds = new Set(experiences.map((e) => (typeof e.id === 'string' ? e.id : contentId(e))));

  const files: string[] = [];
  const write = (name: string, content: string) => {
    writeFileSync(join(dir, name), content);
    files.push(name);
  };
  const batch = (id: string, items: unknown[]) => JSON.stringify({ batch_id: id, model_type: 'nlu', experiences: items, created_at: 1736895345.1 });
  const envelope = (id: string, items: unknown[]) => JSON.stringify({ event_type: 'learning_signal', event_id: id, payload: { experiences: items } });
  const lines = (items: unknown[]) => `${items.map((e) => JSON.stringify(e)).join('\n')}\n`;

  // 0–2999: one spec batch large enough for several transactions.
  write('experiences_nlu_1736895345.json', batch('b-big', experiences.slice(0, 3000)));
  // 3000–7999: five spec batches of 1,000.
  for (let f = 0; f < 5; f++) {
    const items = experiences.slice(3000 + f * 1000, 4000 + f * 1000);
    write(`experiences_nlu_17368954${String(f).padStart(2, '0')}.json`, batch(`b-${f}`, items));
  }
  // 8000–9999: twenty forwarder envelopes of 100; one of them also carries two junk items.
  const rejectedPart: string[] = [];
  for (let f = 0; f < 20; f++) {
    const items: unknown[] = experiences.slice(8000 + f * 100, 8100 + f * 100);
    const name = `5_1736895345${String(f).padStart(3, '0')}_evt${f}.json`;
    if (f === 7) {
      items.splice(10, 0, 'not an experience', null);
      rejectedPart.push(name);
    }
    write(name, envelope(`evt${f}`, items));
  }
  // 10000–10599: one experience per file.
  for (let k = 10000; k < 10600; k++) write(`single-${k}.json`, JSON.stringify(experiences[k]));
  // 10600–end: JSON lines, .jsonl and .ndjson; one file has a corrupt line between good ones.
  const rest = experiences.slice(10600);
  const per = Math.ceil(rest.length / 6);
  for (let f = 0; f < 6; f++) {
    const chunk = rest.slice(f * per, (f + 1) * per);
    const name = `lines-${f}.${f % 2 === 0 ? 'jsonl' : 'ndjson'}`;
    let text = lines(chunk);
    if (f === 3) {
      const [head, ...tail] = text.split('\n');
      text = [head, '{"type": "command", "input": {"text": "cut off', ...tail].join('\n');
      rejectedPart.push(name);
    }
    write(name, text);
  }
  // Duplicates: the same file under other names, and experiences repeated across files.
  write('copy-of-experiences_nlu_1736895345.json', readFileSync(join(dir, 'experiences_nlu_1736895345.json'), 'utf8'));
  write('copy-of-5_1736895345003_evt3.json', readFileSync(join(dir, '5_1736895345003_evt3.json'), 'utf8'));
  write('overlap.jsonl', lines([...experiences.slice(0, 50), ...experiences.slice(13700)]));
  // Corrupt files (their experiences also exist elsewhere, so nothing is lost by quarantining them).
  const rejectedWhole = ['truncated.json', 'empty.json', 'garbage.bin', 'wrong-shape.json', 'no-experiences.json'];
  write('truncated.json', batch('b-trunc', experiences.slice(0, 20)).slice(0, 900));
  write('empty.json', '');
  write('garbage.bin', Buffer.from(Array.from({ length: 512 }, (_, i) => (i * 131 + 7) % 256)).toString('latin1'));
  write('wrong-shape.json', JSON.stringify({ hello: 'world', count: 3 }));
  write('no-experiences.json', batch('b-none', []));
  // In flight: never touched.
  const inFlight = ['.partial.json', 'pending.json.tmp'];
  for (const name of inFlight) writeFileSync(join(dir, name), '{"type": "command", "inp');

  // Dropped a while ago (while the service was down): nothing is mistaken for a write in progress.
  const past = new Date(Date.now() - 60_000);
  for (const name of [...files, ...inFlight]) utimesSync(join(dir, name), past, past);
  return { expectedIds, files, rejectedWhole, rejectedPart, inFlight };
}
