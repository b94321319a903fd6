/** UCI optdigits (data/vision-optdigits): 8×8 grey digits, pixel values 0–16, last column the label. */
import { readCsvRows } from './data.js';

export interface DigitRow {
  pixels: number[];
  label: string;
}

export function readOptdigits(split: 'train' | 'test'): DigitRow[] {
  return readCsvRows(`vision-optdigits/${split}.csv`).map((r) => ({ pixels: r.slice(0, 64).map(Number), label: r[64] }));
}
