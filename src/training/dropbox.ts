/**
 * The JARVIS drop-box for large training sets (CONTRACT §3 `dataset_path` + `use_dropbox`): a .json,
 * .json.gz (an array of experiences) or .jsonl file that must lie inside TRAINING_DROPBOX_DIR.
 */
import { existsSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { TrainingDatasetPath, type TrinityError } from '../errors.js';

/** Largest drop-box file read into memory, in bytes. */
export const MAX_DROPBOX_FILE_BYTES = 2 * 1024 ** 3;

/** Who is reading: training (`dataset_path`) by default; evaluation names its own field and folder. */
export interface DropboxReadOptions {
  /** Builds the 400 from the path and what is wrong with it. Default: TrainingDatasetPath (`dataset_path …`). */
  fail?: (path: string, why: string) => TrinityError;
  /** How messages name the root folder. Default `TRAINING_DROPBOX_DIR`. */
  rootName?: string;
}

export function resolveInside(path: string, root: string, options: DropboxReadOptions = {}): string {
  const { fail = TrainingDatasetPath, rootName = 'TRAINING_DROPBOX_DIR' } = options;
  if (!existsSync(root)) throw fail(path, `is not inside ${rootName} (${root} does not exist)`);
  const realRoot = realpathSync(root);
  const candidate = isAbsolute(path) ? path : resolve(realRoot, path);
  if (!existsSync(candidate)) throw fail(path, 'does not exist');
  const real = realpathSync(candidate);
  const rel = relative(realRoot, real);
  if (rel === '' || rel.startsWith('..') || isAbsolute(rel) || rel.split(sep).includes('..')) {
    throw fail(path, `is not inside ${rootName} (${realRoot})`);
  }
  if (!statSync(real).isFile()) throw fail(path, 'is not a file');
  return real;
}

export function readDropboxFile(path: string, root: string, options: DropboxReadOptions = {}): unknown[] {
  const fail = options.fail ?? TrainingDatasetPath;
  const real = resolveInside(path, root, options);
  if (statSync(real).size > MAX_DROPBOX_FILE_BYTES) throw fail(path, `is larger than ${MAX_DROPBOX_FILE_BYTES} bytes`);
  let text: string;
  if (real.endsWith('.json.gz')) text = gunzipSync(readFileSync(real)).toString('utf8');
  else if (real.endsWith('.json') || real.endsWith('.jsonl') || real.endsWith('.ndjson')) text = readFileSync(real, 'utf8');
  else throw fail(path, 'must end in .json, .json.gz or .jsonl');
  try {
    if (real.endsWith('.jsonl') || real.endsWith('.ndjson')) {
      return text.split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as unknown);
    }
    const parsed = JSON.parse(text) as unknown;
    if (!Array.isArray(parsed)) throw fail(path, 'must hold a JSON array of experiences');
    return parsed;
  } catch (err) {
    if (err instanceof SyntaxError) throw fail(path, `is not valid JSON: ${err.message}`);
    throw err;
  }
}
