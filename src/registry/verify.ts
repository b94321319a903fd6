/** Comparing a version folder with what was recorded for it. */
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { scanArtifacts } from './artifacts.js';
import { MANIFEST_NAME, digestOf } from './digest.js';
import { parseManifest } from './manifest.js';
import type { ManifestFile, VerifyResult } from './types.js';

export interface Expected {
  digest: string;
  files: readonly ManifestFile[];
}

/** Hashes `dir` again and lists every difference from `expected`, including a manifest.json that disagrees. */
export async function verifyFolder(dir: string, expected: Expected): Promise<VerifyResult> {
  const isDir = await stat(dir).then((s) => s.isDirectory(), () => false);
  if (!isDir) return { ok: false, expected: expected.digest, actual: null, problems: ['version folder is missing'] };

  const scan = await scanArtifacts(dir);
  const problems = [...scan.refused];
  const found = new Map(scan.files.map((f) => [f.path, f]));
  for (const want of expected.files) {
    const got = found.get(want.path);
    if (got === undefined) problems.push(`${want.path}: missing`);
    else if (got.bytes !== want.bytes) problems.push(`${want.path}: ${got.bytes} bytes, expected ${want.bytes}`);
    else if (got.sha256 !== want.sha256) problems.push(`${want.path}: sha256 differs`);
    found.delete(want.path);
  }
  for (const path of found.keys()) problems.push(`${path}: not in the manifest`);

  const text = await readFile(join(dir, MANIFEST_NAME), 'utf8').catch(() => null);
  const manifest = text === null ? 'missing' : parseManifest(text);
  if (typeof manifest === 'string') problems.push(`${MANIFEST_NAME}: ${manifest}`);
  else if (manifest.digest !== expected.digest) problems.push(`${MANIFEST_NAME}: digest ${manifest.digest} differs`);

  const actual = digestOf(scan.files);
  if (actual !== expected.digest && problems.length === 0) problems.push(`digest ${actual} differs`);
  return { ok: problems.length === 0, expected: expected.digest, actual, problems };
}
