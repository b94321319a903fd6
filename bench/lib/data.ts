/** The shared public data sets (../shared/data next to the project) read for benchmarks and tests. */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseCsv } from '../../src/util/csv.js';

/**
 * The project root, found by walking up to package.json: this file runs compiled from dist-bench/bench/lib
 * (npm run bench) and from source under vitest (test fixtures import the readers), at different depths.
 */
function projectRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error(`no package.json above ${fileURLToPath(import.meta.url)}`);
    dir = up;
  }
  return dir;
}

export const DATA_DIR = resolve(projectRoot(), '../shared/data') + '/';

export function dataPath(rel: string): string {
  return DATA_DIR + rel;
}

export function readCsvRows(rel: string): string[][] {
  return parseCsv(readFileSync(dataPath(rel), 'utf8')).slice(1);
}
