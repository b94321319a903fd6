/**
 * SNIPS intent data for the nlu tests (real user utterances, data/nlu-snips), with
 * the train/validation split done as the product does it: by a hash of each example's id.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseCsvObjects } from '../../src/util/csv.js';
import type { Example } from '../../src/models/types.js';
import { DATA_DIR } from '../helpers/processes.js';

/** Rows of `train.csv` or `test.csv` as examples with stable ids. */
export function loadSnips(file: 'train.csv' | 'test.csv'): Example[] {
  const rows = parseCsvObjects(readFileSync(join(DATA_DIR, 'nlu-snips', file), 'utf8'));
  return rows.map((r, i) => ({ id: `snips-${file}-${i}`, input: { text: r.text }, label: r.intent }));
}

/** ~10 % of examples, chosen by a hash of the id, go to validation. */
export function isValidation(id: string): boolean {
  return createHash('sha256').update(id).digest().readUInt32BE(0) % 10 === 0;
}

/** Every `stride`-th row of train.csv, split into train and validation by id. */
export function snipsSlice(stride: number): { train: Example[]; validation: Example[] } {
  const all = loadSnips('train.csv').filter((_, i) => i % stride === 0);
  return { train: all.filter((e) => !isValidation(e.id)), validation: all.filter((e) => isValidation(e.id)) };
}
