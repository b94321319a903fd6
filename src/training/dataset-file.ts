/** A job's frozen dataset: JSONL of DatasetLine, written once so a resumed job trains on the same data. */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Dataset } from './training-service.js';
import type { DatasetLine } from './trainer-protocol.js';
import type { Example } from './trainers/types.js';
import { writeFileAtomicSync } from '../util/fs.js';

function line(ex: Example, split: DatasetLine['split']): string {
  const d: DatasetLine = { id: ex.id, split, input: ex.input };
  if (ex.label !== undefined) d.label = ex.label;
  if (ex.score !== undefined) d.score = ex.score;
  return JSON.stringify(d);
}

export function writeDataset(path: string, dataset: Dataset): void {
  const parts: string[] = [];
  for (const ex of dataset.train) parts.push(line(ex, 'train'));
  for (const ex of dataset.validation) parts.push(line(ex, 'validation'));
  writeFileAtomicSync(path, parts.join('\n') + '\n');
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
