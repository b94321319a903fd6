/** A job's frozen dataset: JSONL of DatasetLine, written once so a resumed job trains on the same data. */
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
