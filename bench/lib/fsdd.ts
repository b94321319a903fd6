/**
 * The Free Spoken Digit Dataset (../shared/data/voice-fsdd): real 8 kHz mono PCM16 recordings of six
 * speakers, 450 clips each (recording indices 5–49 of every digit; 0–4 are the upstream test split, not
 * shipped). Shared by the voice bench and the voice test fixtures.
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

/**
 * The speaker-stratified held-out part the bench scores on: recording index % 10 == 0, i.e. takes 10, 20,
 * 30 and 40 of every digit of every speaker (240 clips), so each speaker is in both parts equally.
 */
export function fsddHeldOut(row: FsddRow): boolean {
  return row.index % 10 === 0;
}
