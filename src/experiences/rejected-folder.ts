/**
 * rejected/: quarantined files and parts of files, each next to `<name>.error.json`
 * (`{file, error, details, rejected_at, items?}`, CONTRACT §2). Writes are atomic, and the reason is
 * written before the file moves, so a crash in between leaves the original in place to be retried.
 */
import { createHash } from 'node:crypto';
import { lstat, readFile, rename } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { writeFileAtomic } from '../util/fs.js';
import type { ItemError } from './types.js';

export const REJECTED_DIR_NAME = 'rejected';
export const ERROR_SUFFIX = '.error.json';
/** Most characters of `details`, and of each item's error, kept in a `.error.json`. */
export const MAX_REASON_CHARS = 1000;
/** Most refused items listed in a `.error.json`; the rest are counted in `items_omitted`. */
export const MAX_LISTED_ITEMS = 1000;

export interface RejectionRecord {
  /** The original file name in the events folder. */
  file: string;
  error: string;
  details: string;
  /** ISO 8601. */
  rejected_at: string;
  /** The refused items, by index (or 0-based line for JSON lines); the first MAX_LISTED_ITEMS of them. */
  items?: ItemError[];
  /** How many refused items are not listed in `items`. */
  items_omitted?: number;
}

/**
 * A reason as it may be written: at most `max` characters, control and other invisible characters
 * (which a message may quote from the file) shown as `\u{…}` escapes.
 */
export function boundedReason(text: string, max = MAX_REASON_CHARS): string {
  const cut = text.length > max ? `${text.slice(0, max)}…` : text;
  return cut.replace(/[\p{C}\u2028\u2029]/gu, (c) => `\\u{${c.codePointAt(0)!.toString(16)}}`);
}

/** The record with its reasons bounded: a file of a million bad lines gets a short .error.json, not a huge one. */
export function boundedRecord(record: RejectionRecord): RejectionRecord {
  const out: RejectionRecord = { ...record, error: boundedReason(record.error), details: boundedReason(record.details) };
  if (record.items !== undefined) {
    out.items = record.items.slice(0, MAX_LISTED_ITEMS).map((i) => ({ index: i.index, error: boundedReason(i.error) }));
    if (record.items.length > MAX_LISTED_ITEMS) out.items_omitted = record.items.length - MAX_LISTED_ITEMS;
  }
  return out;
}

function errorJson(record: RejectionRecord): string {
  return `${JSON.stringify(boundedRecord(record), null, 2)}\n`;
}

/** The hash of what already has the name in rejected/: null when nothing does, '' when it is no regular file (never opened). */
async function sha256OfEntry(path: string): Promise<string | null> {
  try {
    if (!(await lstat(path)).isFile()) return '';
    return createHash('sha256').update(await readFile(path)).digest('hex');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    return '';
  }
}

export class RejectedFolder {
  constructor(readonly dir: string) {}

  /**
   * Moves a whole file into rejected/. `sha256` is its content hash: a file already quarantined under
   * the same name with the same content is simply replaced (a retry after a crash), another one keeps
   * its place and this one gets the hash in its name.
   */
  async moveWhole(sourcePath: string, name: string, sha256: string, record: RejectionRecord): Promise<string> {
    const target = await this.chooseName(name, sha256);
    await writeFileAtomic(join(this.dir, target + ERROR_SUFFIX), errorJson(record));
    await rename(sourcePath, join(this.dir, target));
    return join(this.dir, target);
  }

  /** Writes the refused items of a file (its `content` holds only those) with their reasons. */
  async writePart(name: string, content: string | Uint8Array, record: RejectionRecord): Promise<string> {
    const sha = createHash('sha256').update(content).digest('hex');
    const target = await this.chooseName(name, sha);
    await writeFileAtomic(join(this.dir, target + ERROR_SUFFIX), errorJson(record));
    await writeFileAtomic(join(this.dir, target), content);
    return join(this.dir, target);
  }

  private async chooseName(name: string, sha256: string): Promise<string> {
    const existing = await sha256OfEntry(join(this.dir, name));
    if (existing === null || existing === sha256) return name;
    const ext = extname(name);
    const stem = ext === '' ? name : name.slice(0, -ext.length);
    return `${stem}.${sha256.slice(0, 12)}${ext}`;
  }
}
