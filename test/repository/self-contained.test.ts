/**
 * A clone works with nothing beside it (issue 13): no source, test, bench, script, web or bin file, no
 * config, README or doc names a path outside the checkout — the workshop's shared folder beside it, a relative
 * path that climbs above the repository root, or an absolute path into one machine (`/work/`, `/home/`).
 * The data the project needs ships in data/ (data/README.md).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DATA_DIR, ROOT } from '../helpers/processes.js';
import { fsddRows } from '../fixtures/voice-fsdd.js';

/** Build output, dependencies, local state and git's own folder: not the project's text. */
const SKIPPED_DIRS = new Set(['.git', 'node_modules', 'dist', 'dist-bench', 'coverage', '.peers']);
const TEXT_FILE = /\.(?:[cm]?[jt]s|json|md|html|css|py|sh|ya?ml)$/;
const THIS_FILE = relative(ROOT, import.meta.filename);

const SHARED = /\.\.[\\/]+shared\b|\bshared\/data\b/;
/** The workshop folder beside the project, spelled in parts so this file does not itself name it. */
const WORKSHOP = ['..', 'shared'].join('/');
const ABSOLUTE = /(?<![\w.-])\/(?:work|home|root|Users|mnt)\//;
/** A path climbing from the project root itself, e.g. resolve(ROOT, '..…'). */
const ROOT_CLIMB = /\b(?:ROOT|root|projectRoot\(\))\s*,\s*['"`]\.\.(?:[\\/'"`])/;
/** A relative path starting at a quote, bracket or space (not after `${x}`, whose base is unknown). */
const RELATIVE = /(?<=^|[\s'"`([=:,])(?:[\w.@-]+\/)*\.\.\/[\w.@/-]*/g;

/** Every project text file, relative to the root; a walk, so it works in a copy without git too. */
function projectFiles(dir = ROOT): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return SKIPPED_DIRS.has(entry.name) || entry.name.startsWith('.jarvis-test') ? [] : projectFiles(path);
    return entry.isFile() && TEXT_FILE.test(entry.name) ? [relative(ROOT, path)] : [];
  });
}

/**
 * The folders a file's relative paths are resolved from: its own, and for bench files also the one
 * `npm run bench` runs them from (dist-bench/bench/…, a level deeper than src's dist/).
 */
function baseDirs(file: string): string[] {
  const own = dirname(file);
  return file.startsWith('bench/') ? [own, join('dist-bench', own)] : [own];
}

const outside = (path: string) => relative(ROOT, path).startsWith('..');

/** `file:line: why: the line` for every line of `text` (the content of `file`) naming a path outside the root. */
export function outsideReferences(file: string, text: string): string[] {
  const found: string[] = [];
  text.split('\n').forEach((line, i) => {
    const why = [
      SHARED.test(line) && `names ${WORKSHOP}`,
      ABSOLUTE.test(line) && 'absolute path into one machine',
      ROOT_CLIMB.test(line) && 'climbs above the project root',
      ...[...line.matchAll(RELATIVE)]
        .filter(([path]) => baseDirs(file).every((base) => outside(resolve(ROOT, base, path))))
        .map(([path]) => `${path} climbs above the repository root`),
    ].filter((w): w is string => typeof w === 'string');
    for (const w of why) found.push(`${file}:${i + 1}: ${w}: ${line.trim()}`);
  });
  return found;
}

describe('the repository is self-contained', () => {
  it('names no path outside the checkout in any source, test, bench, script, web, bin, config or doc file', () => {
    const files = projectFiles();
    expect(files).toContain('README.md');
    expect(files).toContain('src/cli/commands/demo.ts');
    expect(files).toContain('data/README.md');
    // This file's own examples below are the offences it looks for.
    const offences = files.filter((f) => f !== THIS_FILE).flatMap((f) => outsideReferences(f, readFileSync(join(ROOT, f), 'utf8')));
    expect(offences).toEqual([]);
  });

  it('reports each kind of outside path with its file and line', () => {
    const text = [
      `export const DATA = resolve(ROOT, '${WORKSHOP}/data');`,
      "const csv = new URL('../../../../elsewhere/train.csv', import.meta.url);",
      'read /work/main/data/x.csv first',
      "const up = resolve(ROOT, '..');",
    ].join('\n');
    expect(outsideReferences('src/cli/commands/demo.ts', text)).toEqual([
      `src/cli/commands/demo.ts:1: names ${WORKSHOP}: export const DATA = resolve(ROOT, '${WORKSHOP}/data');`,
      `src/cli/commands/demo.ts:1: climbs above the project root: export const DATA = resolve(ROOT, '${WORKSHOP}/data');`,
      "src/cli/commands/demo.ts:2: ../../../../elsewhere/train.csv climbs above the repository root: const csv = new URL('../../../../elsewhere/train.csv', import.meta.url);",
      'src/cli/commands/demo.ts:3: absolute path into one machine: read /work/main/data/x.csv first',
      "src/cli/commands/demo.ts:4: climbs above the project root: const up = resolve(ROOT, '..');",
    ]);
  });

  it('lets relative paths that stay inside the checkout pass, from where each file runs', () => {
    const inside = [
      "const csv = new URL('../../../data/nlu-snips/train.csv', import.meta.url);",
      "import { ROOT } from '../helpers/processes.js';",
      'const tmp = `${dir}/../x`;',
      'See [errors](../docs/errors.md).',
    ].join('\n');
    expect(outsideReferences('src/cli/commands/demo.ts', inside)).toEqual([]);
    // bench/lib runs compiled from dist-bench/bench/lib, one level deeper.
    expect(outsideReferences('bench/lib/python-peer.ts', "new URL('../../../bench/peers/x.py', import.meta.url)")).toEqual([]);
    expect(outsideReferences('bench/lib/python-peer.ts', "new URL('../../../../bench/peers/x.py', import.meta.url)")).toHaveLength(1);
  });
});

describe('the data folder', () => {
  const sets = readdirSync(DATA_DIR, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name);

  it('ships every data set the tests, benches and demo read, each with its license, described in data/README.md', () => {
    expect(sets.sort()).toEqual(['embedding-stsb', 'nlu-hwu64', 'nlu-snips', 'vision-optdigits', 'voice-fsdd']);
    const readme = readFileSync(join(DATA_DIR, 'README.md'), 'utf8');
    for (const set of sets) {
      expect(existsSync(join(DATA_DIR, set, 'LICENSE')), `${set}/LICENSE`).toBe(true);
      expect(readme).toContain(`\`${set}/\``);
    }
  });

  it('holds exactly the FSDD recordings its metadata.csv lists: takes 5–14 of every digit of six speakers', () => {
    const rows = fsddRows();
    expect(rows.map((r) => r.file).sort()).toEqual(readdirSync(join(DATA_DIR, 'voice-fsdd/recordings')).sort());
    expect(new Set(rows.map((r) => r.speaker)).size).toBe(6);
    expect(new Set(rows.map((r) => r.index))).toEqual(new Set([5, 6, 7, 8, 9, 10, 11, 12, 13, 14]));
    expect(rows).toHaveLength(600);
  });
});
