/**
 * The JARVIS drop-box for large training sets (CONTRACT §3 `dataset_path` + `use_dropbox`): a .json
 * (an array of experiences) or .jsonl file, either of them optionally gzipped, that must lie inside
 * TRAINING_DROPBOX_DIR. Read as a stream: gzip is unpacked chunk by chunk and counted against
 * MAX_DROPBOX_JSON_BYTES, and the JSON is parsed incrementally (@streamparser/json), so neither a
 * gzip bomb nor a file past Node's longest string can take the process down.
 */
import { createReadStream } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { createGunzip } from 'node:zlib';
import { JSONParser, TokenType } from '@streamparser/json';
import { DropboxFileTooLarge, TrainingDatasetPath, type TrinityError } from '../errors.js';
import { homeRelativeName, isInside } from '../util/shown-path.js';

/**
 * Most bytes of JSON text a drop-box file may hold (after unpacking). 512 MiB is what a plain file could
 * hold before (Node's longest string) and keeps the parsed experiences well inside the default heap.
 */
export const MAX_DROPBOX_JSON_BYTES = 512 * 1024 ** 2;
/** Longest part of a caller's path repeated in a message. */
const MAX_SHOWN_PATH_CHARS = 200;

/** Who is reading: training (`dataset_path`) by default; evaluation names its own field and folder. */
export interface DropboxReadOptions {
  /** Builds the 400 from the path and what is wrong with it. Default: TrainingDatasetPath (`dataset_path …`). */
  fail?: (path: string, why: string) => TrinityError;
  /** The request field holding the path, for the 413. Default `dataset_path`. */
  field?: string;
  /** How messages name the root folder, e.g. `TRAINING_DROPBOX_DIR ($JARVIS_HOME/bridge/training_staging)`. Default `TRAINING_DROPBOX_DIR`. */
  rootName?: string;
  /** Default MAX_DROPBOX_JSON_BYTES; tests lower it. */
  maxJsonBytes?: number;
}

/** `TRAINING_DROPBOX_DIR ($JARVIS_HOME/…)` for messages: where the folder is, without the host's own paths. */
export function dropboxLabel(root: string, home: string, variable = 'TRAINING_DROPBOX_DIR'): string {
  return isInside(home, root) ? `${variable} (${homeRelativeName(root, home, variable)})` : variable;
}

function shown(path: string): string {
  return path.length > MAX_SHOWN_PATH_CHARS ? `${path.slice(0, MAX_SHOWN_PATH_CHARS)}…` : path;
}

/**
 * The real path of `path` (absolute, or relative to `root`) when it is a regular file inside `root`.
 * Anything else — outside, missing, a folder, a link out — gets the same message, so an answer never
 * tells whether a path outside the drop-box exists; a path outside it is not even looked at.
 */
export async function resolveInside(path: string, root: string, options: DropboxReadOptions = {}): Promise<string> {
  const { fail = TrainingDatasetPath, rootName = 'TRAINING_DROPBOX_DIR' } = options;
  const notHere = () => fail(shown(path), `is not a file inside ${rootName}; put it there and give its path relative to that folder`);
  let realRoot: string;
  try {
    realRoot = await realpath(root);
  } catch {
    throw notHere();
  }
  const candidate = resolve(root, path);
  if (!isInside(resolve(root), candidate) && !isInside(realRoot, candidate)) throw notHere();
  try {
    const real = await realpath(candidate);
    if (isInside(realRoot, real) && (await stat(real)).isFile()) return real;
  } catch {
    // missing or unreadable: the same answer as outside
  }
  throw notHere();
}

type Format = { gzip: boolean; lines: boolean };

function formatOf(path: string): Format | null {
  const lower = path.toLowerCase();
  const gzip = lower.endsWith('.gz');
  const inner = gzip ? lower.slice(0, -3) : lower;
  if (inner.endsWith('.json')) return { gzip, lines: false };
  if (inner.endsWith('.jsonl') || inner.endsWith('.ndjson')) return { gzip, lines: true };
  return null;
}

/** Raised inside the read loop; turned into the caller's errors at the end. */
class TooLarge extends Error {}
class NotAnArray extends Error {}
class BadJson extends Error {}
const NOT_AN_ARRAY = 'must hold a JSON array of experiences';

/**
 * The experiences of a drop-box file, read as a stream. 400 (the caller's `fail`) for a path outside the
 * folder, a wrong extension, broken gzip or JSON; 413 DropboxFileTooLarge past `maxJsonBytes` of JSON.
 */
export async function readDropboxFile(path: string, root: string, options: DropboxReadOptions = {}): Promise<unknown[]> {
  const { fail = TrainingDatasetPath, field = 'dataset_path', maxJsonBytes = MAX_DROPBOX_JSON_BYTES } = options;
  const real = await resolveInside(path, root, options);
  const format = formatOf(real);
  if (format === null) throw fail(shown(path), 'must end in .json or .jsonl (optionally .gz)');
  const tooLarge = () => DropboxFileTooLarge.with({ limit_bytes: maxJsonBytes }, field, shown(path), maxJsonBytes);
  if ((await stat(real)).size > maxJsonBytes) throw tooLarge();

  const items: unknown[] = [];
  // JSON lines: every top-level value is one item. A .json file: the elements of its top-level array,
  // each dropped from the parser once emitted (keepStack false) so only the list of items grows.
  const parser = format.lines ? new JSONParser({ paths: ['$'], separator: '' }) : new JSONParser({ paths: ['$.*'], keepStack: false });
  let sawArray = format.lines;
  if (!format.lines) {
    // The first token of a .json file must open its array ('$.*' would also pick the fields of an object).
    parser.onToken = ({ token }) => {
      if (!sawArray && token !== TokenType.LEFT_BRACKET) throw new NotAnArray();
      sawArray = true;
    };
  }
  parser.onValue = ({ value }) => {
    items.push(value);
  };

  // The parser's own errors (plain Errors among them) become BadJson, so they are told apart from the stream's.
  const feed = (chunk: Buffer | null) => {
    try {
      if (chunk !== null) parser.write(chunk);
      else if (!parser.isEnded) parser.end();
    } catch (err) {
      throw err instanceof NotAnArray ? err : new BadJson((err as Error).message);
    }
  };
  const file = createReadStream(real);
  const source = format.gzip ? file.pipe(createGunzip()) : file;
  let bytes = 0;
  try {
    for await (const chunk of source as AsyncIterable<Buffer>) {
      bytes += chunk.length;
      if (bytes > maxJsonBytes) throw new TooLarge();
      feed(chunk);
    }
    feed(null);
  } catch (err) {
    throw readError(err, shown(path), fail, tooLarge);
  } finally {
    file.destroy();
    if (source !== file) source.destroy();
  }
  if (!sawArray) throw fail(shown(path), NOT_AN_ARRAY);
  return items;
}

function readError(err: unknown, path: string, fail: (path: string, why: string) => TrinityError, tooLarge: () => TrinityError): unknown {
  if (err instanceof TooLarge) return tooLarge();
  const code = (err as NodeJS.ErrnoException).code;
  if (typeof code === 'string' && code.startsWith('Z_')) return fail(path, `is not valid gzip (${code})`);
  if (err instanceof NotAnArray) return fail(path, NOT_AN_ARRAY);
  if (err instanceof BadJson) return fail(path, `is not valid JSON: ${err.message}`);
  return err;
}
