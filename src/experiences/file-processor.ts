/**
 * One file of the events folder, start to end: read, identify by content hash, parse, quarantine what
 * is bad, commit the rest in batches, and only then delete it. Every step is safe to repeat: a process
 * killed at any point re-runs the file on start and adds nothing twice (ids are unique, and the file's
 * hash is recorded in the transaction of its last batch).
 */
import { isUtf8 } from 'node:buffer';
import { constants, type Stats } from 'node:fs';
import { lstat, open, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import type { ExperienceSink } from './experiences-store.js';
import { containerFromText, invalidUtf8Lines, isShapeError, type Container } from './containers.js';
import { summarizeItemErrors } from './examples.js';
import { sha256Hex } from './identity.js';
import { isUsable, itemError, normalizeExperience } from './normalize.js';
import type { RejectedFolder } from './rejected-folder.js';
import type { InsertCounts, ItemError, NormalizedExperience } from './types.js';

/** Files above this are quarantined unread: JSON.parse needs the whole text in memory (Node strings stop near 512 MB). */
export const MAX_FILE_BYTES = 256 * 1024 * 1024;
const LINE_EXTENSIONS = ['.jsonl', '.ndjson'];

export type FileOutcome =
  | { status: 'ingested'; file: string; sha256: string; accepted: number; duplicates: number; unusable: number; rejected: number; rejectedPath: string | null }
  | { status: 'already_ingested'; file: string; sha256: string }
  | { status: 'rejected'; file: string; error: string; details: string; rejectedPath: string }
  | { status: 'deferred'; file: string; reason: string; retryAtMs: number }
  /** Gone, replaced while being read, or processing stopped by close(): the next scan sees it again. */
  | { status: 'skipped'; file: string; reason: string };

export interface FileProcessorDeps {
  dir: string;
  store: ExperienceSink;
  rejected: RejectedFolder;
  batchSize: number;
  settleMs: number;
  /** True once close() was called: a large file stops between batches and is finished on the next start. */
  isClosing: () => boolean;
}

function sameFile(a: Stats, b: Stats): boolean {
  return a.ino === b.ino && a.size === b.size && a.mtimeMs === b.mtimeMs;
}

/** lstat: a link is looked at itself, never followed. */
async function statOrNull(path: string): Promise<Stats | null> {
  try {
    return await lstat(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

/**
 * The bytes of the regular file `before` describes, or null when something else now has its name. Opened
 * without following links and without blocking, so a FIFO or link swapped in since the lstat is never
 * followed or waited on.
 */
async function readRegularFile(path: string, before: Stats): Promise<Buffer | null> {
  let handle;
  try {
    handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (err) {
    if (['ENOENT', 'ELOOP', 'ENXIO'].includes((err as NodeJS.ErrnoException).code ?? '')) return null;
    throw err;
  }
  try {
    const now = await handle.stat();
    if (!now.isFile() || now.ino !== before.ino) return null;
    return await handle.readFile();
  } finally {
    await handle.close();
  }
}

/** Why an entry of the events folder that is not a regular file is moved aside. */
function oddEntryReason(st: Stats): string {
  if (st.isSymbolicLink()) return 'a symbolic link is never followed (it could point anywhere); copy the file itself into the events folder';
  if (st.isDirectory()) return 'a folder: experience files go in the events folder itself, not in folders inside it';
  if (st.isFIFO()) return 'a named pipe (FIFO) is never read (reading it would block the intake); write a regular file instead';
  if (st.isSocket()) return 'a socket is not an experience file; write a regular file instead';
  return 'a device is not an experience file; write a regular file instead';
}

/**
 * What goes to rejected/ for the refused items: the container rebuilt with only those, or the whole
 * original file when they cannot be written again (nested too deep for JSON.stringify).
 */
function refusedPart(container: Container, positions: ReadonlySet<number>, original: Buffer): { content: string | Buffer; note: string } {
  try {
    return { content: container.subset(positions), note: '' };
  } catch (err) {
    if (!(err instanceof RangeError)) throw err;
    return { content: original, note: ' (the refused items cannot be written out again, so the whole file is kept here; the others went in)' };
  }
}

export class FileProcessor {
  constructor(private readonly deps: FileProcessorDeps) {}

  async process(name: string): Promise<FileOutcome> {
    const path = join(this.deps.dir, name);
    const before = await statOrNull(path);
    if (before === null) return { status: 'skipped', file: name, reason: 'gone' };
    if (!before.isFile()) {
      // Nothing is read from it: moving a link, pipe or folder is a rename of the entry itself.
      const identity = sha256Hex(`${name}:${before.ino}:${before.mtimeMs}`);
      return this.rejectWhole(path, name, identity, 'not a regular file', oddEntryReason(before));
    }
    const now = Date.now();
    const recent = now - before.mtimeMs < this.deps.settleMs;
    const retryAtMs = before.mtimeMs + this.deps.settleMs + 50;

    if (before.size > MAX_FILE_BYTES) {
      const details = `${before.size} bytes is more than ${MAX_FILE_BYTES}; split it into smaller files (JSON lines work well)`;
      return this.rejectWhole(path, name, sha256Hex(`${name}:${before.size}:${before.mtimeMs}`), 'file too large', details);
    }
    // JSON lines are what a writer appends to in place: give a fresh one time to settle.
    if (recent && LINE_EXTENSIONS.some((ext) => name.toLowerCase().endsWith(ext))) {
      return { status: 'deferred', file: name, reason: 'JSON lines file modified moments ago', retryAtMs };
    }

    const buf = await readRegularFile(path, before);
    const after = buf === null ? null : await statOrNull(path);
    if (buf === null || after === null || !sameFile(before, after)) return { status: 'skipped', file: name, reason: 'changed while being read' };

    const sha256 = sha256Hex(buf);
    if (await this.deps.store.isFileIngested(sha256)) {
      await this.deleteIfUnchanged(path, before);
      return { status: 'already_ingested', file: name, sha256 };
    }

    // Bytes that are not UTF-8 are refused by line (JSON lines) or for the whole file, never read as U+FFFD.
    const text = buf.toString('utf8');
    const container = containerFromText(name, text, isUtf8(buf) ? undefined : invalidUtf8Lines(buf));
    if (isShapeError(container)) {
      if (container.maybeIncomplete && recent) return { status: 'deferred', file: name, reason: `${container.error}; may still be written`, retryAtMs };
      return this.rejectWhole(path, name, sha256, container.error, container.details);
    }
    if (container.cutTail && recent) return { status: 'deferred', file: name, reason: 'last line cut off; may still be written', retryAtMs };
    return this.ingest(path, name, sha256, before, container, buf);
  }

  private async ingest(path: string, name: string, sha256: string, before: Stats, container: Container, original: Buffer): Promise<FileOutcome> {
    const errors: ItemError[] = [...container.itemErrors];
    const valid: number[] = [];
    container.items.forEach((item, i) => {
      const err = itemError(item);
      if (err === null) valid.push(i);
      else errors.push({ index: container.positions[i], error: err });
    });
    errors.sort((a, b) => a.index - b.index);
    const total = container.items.length + container.itemErrors.length;
    if (valid.length === 0) {
      return this.rejectWhole(path, name, sha256, 'no valid experiences', summarizeItemErrors(errors, total), errors);
    }

    // The refused part is written before anything is committed: once the file's hash is recorded,
    // a restart would delete the file without looking at it again.
    let rejectedPath: string | null = null;
    if (errors.length > 0) {
      const part = refusedPart(container, new Set(errors.map((e) => e.index)), original);
      rejectedPath = await this.deps.rejected.writePart(name, part.content, {
        file: name,
        error: `${errors.length} of ${total} experiences rejected`,
        details: summarizeItemErrors(errors, total) + part.note,
        rejected_at: new Date().toISOString(),
        items: errors,
      });
    }

    const counts: InsertCounts = { accepted: 0, duplicates: 0 };
    let unusable = 0;
    const source = `file:${name}`;
    for (let start = 0; start < valid.length; start += this.deps.batchSize) {
      if (start > 0) {
        if (this.deps.isClosing()) return { status: 'skipped', file: name, reason: 'stopped by close(); resumes on next start' };
        await yieldToLoop();
      }
      const batch: NormalizedExperience[] = [];
      for (const i of valid.slice(start, start + this.deps.batchSize)) {
        const res = normalizeExperience(container.items[i], { defaultModelType: container.defaultModelType });
        // itemError() already accepted it, so normalisation cannot refuse it.
        if (!res.ok) throw new TypeError(`item ${container.positions[i]} of ${name}: ${res.error}`);
        batch.push(res.experience);
        if (!isUsable(res.experience, this.deps.store.minQuality)) unusable++;
      }
      const last = start + this.deps.batchSize >= valid.length;
      const file = last ? { sha256, name, rejected: errors.length } : undefined;
      const c = await this.deps.store.insertBatch(batch, { source, file, carried: counts });
      counts.accepted += c.accepted;
      counts.duplicates += c.duplicates;
    }
    await this.deleteIfUnchanged(path, before);
    return { status: 'ingested', file: name, sha256, ...counts, unusable, rejected: errors.length, rejectedPath };
  }

  private async rejectWhole(path: string, name: string, sha256: string, error: string, details: string, items?: ItemError[]): Promise<FileOutcome> {
    const rejectedPath = await this.deps.rejected.moveWhole(path, name, sha256, {
      file: name,
      error,
      details,
      rejected_at: new Date().toISOString(),
      ...(items === undefined ? {} : { items }),
    });
    return { status: 'rejected', file: name, error, details, rejectedPath };
  }

  /** A writer may have replaced the file (same name, new content) meanwhile: that one is left for the next scan. */
  private async deleteIfUnchanged(path: string, before: Stats): Promise<void> {
    const now = await statOrNull(path);
    if (now === null || !sameFile(before, now)) return;
    try {
      await unlink(path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
}
