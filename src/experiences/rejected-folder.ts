/**
 * rejected/: quarantined files and parts of files, each next to `<name>.error.json`
 * (`{file, error, details, rejected_at, items?}`, CONTRACT §2). Writes are atomic, and the reason is
 * written before the file moves, so a crash in between leaves the original in place to be retried.
 */
import { createHash } from 'node:crypto';
import { readFile, rename, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { writeFileAtomic } from '../util/fs.js';
import type { ItemError } from './types.js';

export const REJECTED_DIR_NAME = 'rejected';
export const ERROR_SUFFIX = '.error.json';

export interface RejectionRecord {
  /** The original file name in the events folder. */
  file: string;
  error: string;
  details: string;
  /** ISO 8601. */
  rejected_at: string;
  /** The refused items, by index (or 0-based line for JSON lines). */
  items?: ItemError[];
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

async function sha256OfFile(path: string): Promise<string | null> {
  try {
    return createHash('sha256').update(await readFile(path)).digest('hex');
  } catch {
    return null;
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
    await writeFileAtomic(join(this.dir, target + ERROR_SUFFIX), `${JSON.stringify(record, null, 2)}\n`);
    await rename(sourcePath, join(this.dir, target));
    return join(this.dir, target);
  }

  /** Writes the refused items of a file (its `content` holds only those) with their reasons. */
  async writePart(name: string, content: string, record: RejectionRecord): Promise<string> {
    const sha = createHash('sha256').update(content).digest('hex');
    const target = await this.chooseName(name, sha);
    await writeFileAtomic(join(this.dir, target + ERROR_SUFFIX), `${JSON.stringify(record, null, 2)}\n`);
    await writeFileAtomic(join(this.dir, target), content);
    return join(this.dir, target);
  }

  private async chooseName(name: string, sha256: string): Promise<string> {
    const plain = join(this.dir, name);
    if (!(await exists(plain)) || (await sha256OfFile(plain)) === sha256) return name;
    const ext = extname(name);
    const stem = ext === '' ? name : name.slice(0, -ext.length);
    return `${stem}.${sha256.slice(0, 12)}${ext}`;
  }
}
