/** A job's frozen dataset: JSONL of DatasetLine, written once so a resumed job trains on the same data. */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Dataset, DatasetSource } from './training-types.js';
import type { DatasetLine } from './trainer-protocol.js';
import type { Example } from '../models/types.js';
import { writeFileAtomic } from '../util/fs.js';
import { Pacer } from '../util/pacer.js';

function line(ex: Example, split: DatasetLine['split']): string {
  const d: DatasetLine = { id: ex.id, split, input: ex.input };
  if (ex.label !== undefined) d.label = ex.label;
  if (ex.score !== undefined) d.score = ex.score;
  return JSON.stringify(d);
}

/**
 * Lines per piece written: about a millisecond of JSON on a quiet core. With both cores busy (prime, the
 * trainer), a piece of 2,000 held reactor's loop for 30–80 ms and set its p99 under load.
 */
const LINES_PER_PIECE = 250;

function* piecesOf(dataset: Dataset): Generator<string> {
  const all: [readonly Example[], DatasetLine['split']][] = [
    [dataset.train, 'train'],
    [dataset.validation, 'validation'],
  ];
  for (const [examples, split] of all) {
    for (let i = 0; i < examples.length; i += LINES_PER_PIECE) {
      let piece = '';
      for (const ex of examples.slice(i, i + LINES_PER_PIECE)) piece += line(ex, split) + '\n';
      yield piece;
    }
  }
}

async function* pieces(source: DatasetSource): AsyncGenerator<string> {
  if (Symbol.asyncIterator in source) {
    for await (const page of source) yield* piecesOf(page);
  } else {
    yield* piecesOf(source);
  }
}

/**
 * Writes the dataset atomically (temporary file, fsync, rename), piece by piece between turns of the loop.
 * A source of pages is read as it is written, so a large buffer is never all in memory: each page's
 * lines are train then validation, and a reader takes a split by the field on each line.
 */
export async function writeDataset(path: string, dataset: DatasetSource): Promise<void> {
  await writeFileAtomic(path, pieces(dataset));
}

export interface ReadSplitOptions {
  /** Stop after this many examples (file order). Default: all. */
  limit?: number;
}

/**
 * The examples of one split, in file order. Streams the file line by line: a voice job's dataset holds
 * every clip as base64 and can be far larger than the split asked for. Blank lines are skipped; a line
 * that is not a DatasetLine means the file is damaged, so it throws (a RangeError naming the line).
 */
export async function readDatasetSplit(path: string, split: DatasetLine['split'], options: ReadSplitOptions = {}): Promise<Example[]> {
  const limit = options.limit ?? Infinity;
  const out: Example[] = [];
  const lines = createInterface({ input: createReadStream(path, 'utf8'), crlfDelay: Infinity });
  const pacer = new Pacer(READ_YIELD_MS);
  let n = 0;
  try {
    for await (const text of lines) {
      n++;
      if (out.length >= limit) break;
      if (text.trim() === '' || splitOfLine(text) === otherSplit(split)) continue;
      await pacer.tick();
      const d = parseLine(text, n);
      if (d.split !== split) continue;
      const ex: Example = { id: d.id, input: d.input };
      if (d.label !== undefined) ex.label = d.label;
      if (d.score !== undefined) ex.score = d.score;
      out.push(ex);
    }
  } finally {
    lines.close();
  }
  return out;
}

/** How long reading a dataset file may hold the loop (a finishing job's evaluation reads it in reactor). */
const READ_YIELD_MS = 5;

const SPLIT_KEY = '"split":"';

/**
 * The split of a line written by `line()`, read without parsing it, or null. `split` is the second key,
 * after the id, and a quote inside a JSON string is always escaped: the first `"split":"` in the raw
 * text is that key. Reading the validation split then skips the train lines (most of the file) unparsed.
 */
function splitOfLine(text: string): DatasetLine['split'] | null {
  const at = text.indexOf(SPLIT_KEY);
  if (at < 0) return null;
  if (text.startsWith('train"', at + SPLIT_KEY.length)) return 'train';
  if (text.startsWith('validation"', at + SPLIT_KEY.length)) return 'validation';
  return null;
}

const otherSplit = (split: DatasetLine['split']): DatasetLine['split'] => (split === 'train' ? 'validation' : 'train');

function parseLine(text: string, n: number): DatasetLine {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    throw new RangeError(`dataset line ${n} is not JSON: ${(err as Error).message}`);
  }
  const d = v as Partial<DatasetLine> | null;
  if (d === null || typeof d !== 'object' || typeof d.id !== 'string' || (d.split !== 'train' && d.split !== 'validation') || typeof d.input !== 'object' || d.input === null) {
    throw new RangeError(`dataset line ${n} is not {id, split, input, …}`);
  }
  return d as DatasetLine;
}
