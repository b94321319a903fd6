/** Shared helpers of the experience tests: temp folders, stores, waiting, WAV and image payloads. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase, type Db } from '../../src/store/database.js';
import { ExperienceStore } from '../../src/experiences/experiences-store.js';
import { SqliteSql } from '../../src/store/sql.js';

export function tempDir(prefix = 'trinity-exp-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export function memoryStore(minQuality?: number): { db: Db; store: ExperienceStore } {
  return sqliteStore(':memory:', minQuality);
}

/** A store over a SQLite file of its own (a writer thread can open the same file). */
export function sqliteStore(path: string, minQuality?: number): { db: Db; store: ExperienceStore } {
  const db = openDatabase({ path });
  return { db, store: new ExperienceStore(new SqliteSql(db), { minQuality }) };
}

/** Polls until `cond` holds (the shared helper of the end-to-end tests). */
export { waitFor } from '../helpers/processes.js';

/** A minimal PCM WAV (44-byte header + samples) as base64. */
export function wavBase64({ channels = 1, bits = 16, format = 1, rate = 8000, samples = 16 } = {}): string {
  const dataBytes = samples * channels * (bits / 8);
  const b = Buffer.alloc(44 + dataBytes);
  b.write('RIFF', 0, 'latin1');
  b.writeUInt32LE(36 + dataBytes, 4);
  b.write('WAVE', 8, 'latin1');
  b.write('fmt ', 12, 'latin1');
  b.writeUInt32LE(16, 16);
  b.writeUInt16LE(format, 20);
  b.writeUInt16LE(channels, 22);
  b.writeUInt32LE(rate, 24);
  b.writeUInt32LE((rate * channels * bits) / 8, 28);
  b.writeUInt16LE((channels * bits) / 8, 32);
  b.writeUInt16LE(bits, 34);
  b.write('data', 36, 'latin1');
  b.writeUInt32LE(dataBytes, 40);
  return b.toString('base64');
}

/** The 8-byte PNG signature plus a little: enough for the light header check. */
export const PNG_BASE64 = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]).toString('base64');

export function nlu(text: string, intent: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { type: 'command', input: { text }, expected_output: { intent }, success: true, ...extra };
}
