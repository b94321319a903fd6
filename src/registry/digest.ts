/**
 * The digest of a version's artifacts. Recipe (so anyone can check a folder with coreutils):
 *
 *   1. take every regular file under the version folder except the top-level `manifest.json`;
 *   2. name each by its relative path with `/` separators, and sort the names by their UTF-8 bytes;
 *   3. write one line per file, `<hex sha256 of the content>  <path>\n` (two spaces: `sha256sum`'s format);
 *   4. the digest is `sha256:` + the hex SHA-256 of those lines.
 *
 * Shell equivalent, run inside the version folder:
 *   find . -type f ! -path ./manifest.json -printf '%P\0' | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum
 *
 * Paths with control characters or backslashes are refused at registration: sha256sum would escape them,
 * and the listing would stop being one line per file.
 */
import { createHash } from 'node:crypto';
import type { ManifestFile } from './types.js';

export const MANIFEST_NAME = 'manifest.json';
export const DIGEST_PREFIX = 'sha256:';

/** Sorts by UTF-8 bytes, like `LC_ALL=C sort`; JS string order (UTF-16 units) differs above U+FFFF. */
export function comparePaths(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/** True when a path can appear in the digest listing unescaped. */
export function isListablePath(path: string): boolean {
  // eslint-disable-next-line no-control-regex
  return !/[\u0000-\u001f\u007f\\]/.test(path);
}

export function digestOf(files: readonly ManifestFile[]): string {
  const sorted = [...files].sort((a, b) => comparePaths(a.path, b.path));
  const hash = createHash('sha256');
  for (const f of sorted) hash.update(`${f.sha256}  ${f.path}\n`, 'utf8');
  return DIGEST_PREFIX + hash.digest('hex');
}
