/** The shared public data sets (../shared/data next to the project) read for benchmarks. */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseCsv } from '../../src/util/csv.js';

export const DATA_DIR = fileURLToPath(new URL('../../../../shared/data/', import.meta.url));

export function dataPath(rel: string): string {
  return DATA_DIR + rel;
}

export function readCsvRows(rel: string): string[][] {
  return parseCsv(readFileSync(dataPath(rel), 'utf8')).slice(1);
}
