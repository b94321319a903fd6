/** File helpers with Trinity's guarantees: private modes, and writes that never leave half a file. */
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';

export const PRIVATE_FILE_MODE = 0o600;
export const PRIVATE_DIR_MODE = 0o700;

/**
 * `mkdir -p`. Node's recursive mkdir reports a read-only filesystem as ENOENT (nodejs/node#47098), which
 * would hide the trouble from storageTrouble(); on ENOENT the folders are made one at a time, so the
 * error thrown is the real one (EROFS), or none if a parent had only gone missing for a moment.
 */
export function ensureDir(path: string): string {
  try {
    mkdirSync(path, { recursive: true, mode: PRIVATE_DIR_MODE });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    for (const dir of missingFolders(path)) mkdirIfAbsent(dir);
  }
  return path;
}

export async function ensureDirAsync(path: string): Promise<string> {
  try {
    await mkdir(path, { recursive: true, mode: PRIVATE_DIR_MODE });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    ensureDir(path);
  }
  return path;
}

/** `path` and its ancestors that do not exist yet, outermost first. */
function missingFolders(path: string): string[] {
  const out: string[] = [];
  for (let p = resolve(path); !existsSync(p) && dirname(p) !== p; p = dirname(p)) out.unshift(p);
  return out;
}

function mkdirIfAbsent(dir: string): void {
  try {
    mkdirSync(dir, { mode: PRIVATE_DIR_MODE });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
}

function tempNameFor(path: string): string {
  // Dot-prefixed and *.tmp: the experience watcher ignores such names as in-flight writes.
  return join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
}

/**
 * Writes `data` to a temporary file, fsyncs it, then renames it over `path`. On failure (a full disk) the
 * temporary file is removed: what was written of it would only take more of the space that is missing.
 */
export function writeFileAtomicSync(path: string, data: string | Uint8Array, mode = PRIVATE_FILE_MODE): void {
  const tmp = tempNameFor(path);
  try {
    const fd = openSync(tmp, 'w', mode);
    try {
      // writeFileSync, not writeSync: writeSync returns a short count on a nearly full disk instead of failing.
      writeFileSync(fd, data);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}

/** As writeFileAtomicSync, off the loop; `data` may come in pieces (an iterable of strings), written in order. */
export async function writeFileAtomic(path: string, data: string | Uint8Array | Iterable<string> | AsyncIterable<string>, mode = PRIVATE_FILE_MODE): Promise<void> {
  const tmp = tempNameFor(path);
  try {
    const fh = await open(tmp, 'w', mode);
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
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

/** The first `code` of `err` and its causes (five deep) that `accepts`, else null. */
export function causeCode(err: unknown, accepts: (code: string) => boolean): string | null {
  for (let e = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    const code = (e as NodeJS.ErrnoException).code;
    if (typeof code === 'string' && accepts(code)) return code;
  }
  return null;
}

/** The code (ENOSPC, EDQUOT, EROFS, SQLITE_FULL…) when `err` or one of its causes is storage trouble, else null. */
export function storageTrouble(err: unknown): string | null {
  return causeCode(err, (code) => STORAGE_TROUBLE.has(code));
}
