/** A job's frozen dataset: JSONL of DatasetLine, written once so a resumed job trains on the same data. */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Dataset } from './training-types.js';
import type { DatasetLine } from './trainer-protocol.js';
import type { Example } from '../models/types.js';
import { writeFileAtomic } from '../util/fs.js';

function line(ex: Example, split: DatasetLine['split']): string {
  const d: DatasetLine = { id: ex.id, split, input: ex.input };
  if (ex.label !== undefined) d.label = ex.label;
  if (ex.score !== undefined) d.score = ex.score;
  return JSON.stringify(d);
}

/** Lines per piece written: a few milliseconds of JSON, so a large dataset does not hold the loop. */
const LINES_PER_PIECE = 2000;

function* pieces(dataset: Dataset): Generator<string> {
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

/** Writes the dataset atomically (temporary file, fsync, rename), piece by piece between turns of the loop. */
export async function writeDataset(path: string, dataset: Dataset): Promise<void> {
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
  let n = 0;
  try {
    for await (const text of lines) {
      n++;
      if (out.length >= limit) break;
      if (text.trim() === '') continue;
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
