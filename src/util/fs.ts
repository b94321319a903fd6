/** File helpers with Trinity's guarantees: private modes, and writes that never leave half a file. */
import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, renameSync, rmSync, writeSync } from 'node:fs';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { dirname, join, basename } from 'node:path';
import { randomBytes } from 'node:crypto';

export const PRIVATE_FILE_MODE = 0o600;
export const PRIVATE_DIR_MODE = 0o700;

export function ensureDir(path: string): string {
  mkdirSync(path, { recursive: true, mode: PRIVATE_DIR_MODE });
  return path;
}

export async function ensureDirAsync(path: string): Promise<string> {
  await mkdir(path, { recursive: true, mode: PRIVATE_DIR_MODE });
  return path;
}

function tempNameFor(path: string): string {
  // Dot-prefixed and *.tmp: the experience watcher ignores such names as in-flight writes.
  return join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
}

/** Writes `data` to a temporary file, fsyncs it, then renames it over `path`. */
export function writeFileAtomicSync(path: string, data: string | Uint8Array, mode = PRIVATE_FILE_MODE): void {
  const tmp = tempNameFor(path);
  const fd = openSync(tmp, 'w', mode);
  try {
    writeSync(fd, typeof data === 'string' ? Buffer.from(data) : data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}

export async function writeFileAtomic(path: string, data: string | Uint8Array, mode = PRIVATE_FILE_MODE): Promise<void> {
  const tmp = tempNameFor(path);
  const fh = await open(tmp, 'w', mode);
  try {
    await fh.writeFile(typeof data === 'string' ? Buffer.from(data) : data);
    await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

/** fsyncs a directory so a rename inside it survives a power loss. */
export function fsyncDir(path: string): void {
  fsyncFile(path);
}

/** fsyncs every file in a folder tree, then the folders themselves, before the tree is renamed into place. */
export function syncTree(dir: string): void {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) syncTree(p);
    else if (entry.isFile()) fsyncFile(p);
  }
  fsyncDir(dir);
}

function fsyncFile(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Error codes of a disk that is full or read-only (SQLite's own for the database): a write can succeed later. */
const STORAGE_TROUBLE = new Set(['ENOSPC', 'EDQUOT', 'EROFS', 'SQLITE_FULL', 'SQLITE_READONLY']);

/** The code (ENOSPC, EDQUOT, EROFS, SQLITE_FULL…) when `err` or one of its causes is storage trouble, else null. */
export function storageTrouble(err: unknown): string | null {
  for (let e = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    const code = (e as NodeJS.ErrnoException).code;
    if (typeof code === 'string' && STORAGE_TROUBLE.has(code)) return code;
  }
  return null;
}
