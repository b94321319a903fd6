/**
 * Artifact folders on disk: copying a job's export into a staging folder (hashing and fsyncing as it goes)
 * and hashing a version folder in place. Only regular files and folders are accepted: a symlink could point
 * outside the registry, and a version must be a self-contained copy.
 */
import { createHash } from 'node:crypto';
import { lstat, mkdir, open, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { ModelArtifactsInvalid } from '../errors.js';
import { PRIVATE_DIR_MODE, PRIVATE_FILE_MODE } from '../util/fs.js';
import { MANIFEST_NAME, comparePaths, isListablePath } from './digest.js';
import type { ManifestFile } from './types.js';

/** Read and write in 1 MiB pieces so large weight files never sit whole in memory. */
const COPY_CHUNK_BYTES = 1024 * 1024;
/** A model export is a handful of files; a runaway export should fail instead of filling the disk. */
export const MAX_ARTIFACT_FILES = 10_000;

interface Tree {
  /** Relative `/`-separated paths of regular files, sorted by UTF-8 bytes. */
  files: string[];
  /** Relative paths of folders, parents before children. */
  dirs: string[];
  /** Entries that are neither files nor folders, or have unlistable names. */
  refused: string[];
}

async function walk(root: string, skipTopManifest: boolean): Promise<Tree> {
  const tree: Tree = { files: [], dirs: [], refused: [] };
  const visit = async (rel: string): Promise<void> => {
    const entries = await readdir(rel === '' ? root : join(root, rel), { withFileTypes: true });
    for (const e of entries) {
      const path = rel === '' ? e.name : `${rel}/${e.name}`;
      if (!isListablePath(path)) tree.refused.push(`${JSON.stringify(path)}: control character or backslash in name`);
      else if (e.isDirectory()) {
        tree.dirs.push(path);
        await visit(path);
      } else if (e.isFile()) {
        if (!(skipTopManifest && path === MANIFEST_NAME)) tree.files.push(path);
      } else tree.refused.push(`${path}: not a regular file or folder`);
      if (tree.files.length > MAX_ARTIFACT_FILES) return;
    }
  };
  await visit('');
  tree.files.sort(comparePaths);
  return tree;
}

/** Hashes (and optionally copies) one file; the copy is fsynced before this returns. */
async function hashFile(src: string, dest?: string): Promise<{ bytes: number; sha256: string }> {
  const hash = createHash('sha256');
  const input = await open(src, 'r');
  const output = dest === undefined ? undefined : await open(dest, 'wx', PRIVATE_FILE_MODE);
  let bytes = 0;
  try {
    const buf = Buffer.allocUnsafe(COPY_CHUNK_BYTES);
    for (;;) {
      const { bytesRead } = await input.read(buf, 0, buf.length, null);
      if (bytesRead === 0) break;
      const chunk = buf.subarray(0, bytesRead);
      hash.update(chunk);
      if (output) await output.write(chunk);
      bytes += bytesRead;
    }
    if (output) await output.sync();
  } finally {
    await input.close();
    await output?.close();
  }
  return { bytes, sha256: hash.digest('hex') };
}

/** fsyncs a folder so the names created in it survive a power loss. */
export async function syncDir(path: string): Promise<void> {
  const fh = await open(path, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/**
 * Copies every file of `sourceDir` into `destDir` (which must exist and be empty), with private modes,
 * fsyncing files and folders. Returns the files sorted by path.
 */
export async function copyArtifacts(sourceDir: string, destDir: string): Promise<ManifestFile[]> {
  const st = await lstat(sourceDir).catch(() => undefined);
  if (!st?.isDirectory()) throw ModelArtifactsInvalid(sourceDir, 'not a folder');
  const tree = await walk(sourceDir, false);
  if (tree.refused.length > 0) throw ModelArtifactsInvalid(sourceDir, tree.refused.join('; '));
  if (tree.files.length > MAX_ARTIFACT_FILES) throw ModelArtifactsInvalid(sourceDir, `more than ${MAX_ARTIFACT_FILES} files`);
  if (tree.files.length === 0) throw ModelArtifactsInvalid(sourceDir, 'no files');
  if (tree.files.includes(MANIFEST_NAME)) throw ModelArtifactsInvalid(sourceDir, `${MANIFEST_NAME} is reserved for the registry`);

  for (const d of tree.dirs) await mkdir(join(destDir, d), { mode: PRIVATE_DIR_MODE });
  const files: ManifestFile[] = [];
  for (const path of tree.files) {
    const { bytes, sha256 } = await hashFile(join(sourceDir, path), join(destDir, path));
    files.push({ path, bytes, sha256 });
  }
  // Children first, so each folder's own entry is durable before its parent's.
  for (const d of [...tree.dirs].reverse()) await syncDir(join(destDir, d));
  await syncDir(destDir);
  return files;
}

export interface ScannedArtifacts {
  files: ManifestFile[];
  refused: string[];
}

/** Hashes the artifact files of a version folder as they are now (manifest.json excluded). */
export async function scanArtifacts(dir: string): Promise<ScannedArtifacts> {
  const tree = await walk(dir, true);
  const files: ManifestFile[] = [];
  for (const path of tree.files) files.push({ path, ...(await hashFile(join(dir, path))) });
  return { files, refused: tree.refused };
}
