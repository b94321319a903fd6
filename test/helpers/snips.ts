/** The SNIPS NLU data set (data/nlu-snips) as experiences. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseCsv } from '../../src/util/csv.js';
import { DATA_DIR } from './processes.js';

export interface SnipsRow {
  text: string;
  intent: string;
}

export function readSnips(split: 'train' | 'test'): SnipsRow[] {
  const rows = parseCsv(readFileSync(join(DATA_DIR, 'nlu-snips', `${split}.csv`), 'utf8'));
  return rows.slice(1).map(([text, intent]) => ({ text, intent }));
}

/** Spec-form experiences with stable ids, so every row counts even where texts repeat. */
export function snipsExperiences(rows: SnipsRow[], prefix = 'snips'): Record<string, unknown>[] {
  return rows.map((r, i) => ({
    id: `${prefix}-${i}`,
    type: 'command',
    input: { text: r.text },
    expected_output: { intent: r.intent },
    success: true,
  }));
}
