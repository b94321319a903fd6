/**
 * The Free Spoken Digit Dataset slice in data/voice-fsdd: real 8 kHz mono PCM16 recordings of six speakers,
 * 100 clips each (recording indices 5–14 of every digit; data/README.md says why this slice). Shared by
 * the voice bench and the voice test fixtures.
 */
import { readFileSync } from 'node:fs';
import { dataPath } from './data.js';

export const FSDD_DIR = dataPath('voice-fsdd');

export interface FsddRow {
  file: string;
  digit: number;
  speaker: string;
  index: number;
}

export function fsddRows(): FsddRow[] {
  const lines = readFileSync(`${FSDD_DIR}/metadata.csv`, 'utf8').trim().split('\n').slice(1);
  return lines.map((line) => {
    const [file, digit, speaker, index] = line.split(',');
    return { file, digit: Number(digit), speaker, index: Number(index) };
  });
}

export function fsddBase64(file: string): string {
  return readFileSync(`${FSDD_DIR}/recordings/${file}`).toString('base64');
}

/** How the bench's held-out part is chosen, for its report. */
export const FSDD_HELD_OUT_RULE = 'recording index % 5 == 0: takes 5 and 10 of every digit of every speaker';

/**
 * The speaker-stratified held-out part the bench scores on (FSDD_HELD_OUT_RULE: 120 of the 600 clips), so
 * each speaker is in both parts equally.
 */
export function fsddHeldOut(row: FsddRow): boolean {
  return row.index % 5 === 0;
}
