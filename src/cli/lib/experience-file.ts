/**
 * Reading `trinity train --file`: a JSON array of experiences, a spec batch `{experiences: [...]}`,
 * the JARVIS envelope `{payload: {experiences}}`, one experience object, or JSONL/NDJSON (one a line);
 * `.gz` is unpacked first. The reactor validates each experience; here we only check the framing.
 */
import { readFile } from 'node:fs/promises';
import { gunzipSync } from 'node:zlib';
import type { ExperienceInput } from '../../client/index.js';
import { CliUsageError } from './errors.js';

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

export async function readExperiencesFile(path: string): Promise<ExperienceInput[]> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new CliUsageError(`cannot read --file ${path}: ${code === 'ENOENT' ? 'no such file' : String(code ?? err)}`, err);
  }
  let text: string;
  try {
    text = (path.endsWith('.gz') ? gunzipSync(bytes) : bytes).toString('utf8');
  } catch (err) {
    throw new CliUsageError(`cannot read --file ${path}: not a gzip file`, err);
  }
  const experiences = parseExperiences(text, path);
  if (experiences.length === 0) throw new CliUsageError(`--file ${path} holds no experiences`);
  return experiences;
}

/** Whole-file JSON first; a file that is not one JSON value is read as JSONL. */
export function parseExperiences(text: string, name: string): ExperienceInput[] {
  const body = text.replace(/^\uFEFF/, '');
  if (!/\.(jsonl|ndjson)(\.gz)?$/.test(name)) {
    let whole: unknown;
    let ok = true;
    try {
      whole = JSON.parse(body);
    } catch {
      ok = false;
    }
    if (ok) return fromJson(whole, name);
    if (body.trimStart().startsWith('[')) throw new CliUsageError(`--file ${name} is not valid JSON`);
  }
  return fromJsonl(body, name);
}

function fromJson(v: unknown, name: string): ExperienceInput[] {
  const list = Array.isArray(v)
    ? v
    : isObject(v) && Array.isArray(v.experiences)
      ? v.experiences
      : isObject(v) && isObject(v.payload) && Array.isArray(v.payload.experiences)
        ? v.payload.experiences
        : isObject(v)
          ? [v]
          : undefined;
  if (!list) throw new CliUsageError(`--file ${name} must hold a JSON array or object of experiences`);
  return list.map((e, i) => {
    if (!isObject(e)) throw new CliUsageError(`--file ${name}: experience ${i} is not a JSON object`);
    return e;
  });
}

function fromJsonl(text: string, name: string): ExperienceInput[] {
  const out: ExperienceInput[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line === '') return;
    let v: unknown;
    try {
      v = JSON.parse(line);
    } catch {
      throw new CliUsageError(`--file ${name}: line ${i + 1} is not JSON`);
    }
    if (!isObject(v)) throw new CliUsageError(`--file ${name}: line ${i + 1} is not a JSON object`);
    out.push(v);
  });
  return out;
}
