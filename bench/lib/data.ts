/** The public data sets shipped in the project's data/ folder (see data/README.md), read by benchmarks and tests. */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseCsv } from '../../src/util/csv.js';

/**
 * The project root, found by walking up to package.json: this file runs compiled from dist-bench/bench/lib
 * (npm run bench) and from source under vitest (test fixtures import the readers), at different depths.
 */
export function projectRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error(`no package.json above ${fileURLToPath(import.meta.url)}`);
    dir = up;
  }
  return dir;
}

/** The one place the benchmarks name the data folder. */
export const DATA_DIR = join(projectRoot(), 'data') + '/';

export function dataPath(rel: string): string {
  return DATA_DIR + rel;
}

export function readCsvRows(rel: string): string[][] {
  return parseCsv(readFileSync(dataPath(rel), 'utf8')).slice(1);
}
