import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ModelEvaluationFile, TrinityError } from '../../src/errors.js';
import { MAX_DROPBOX_JSON_BYTES, dropboxLabel, readDropboxFile } from '../../src/training/dropbox.js';

let home: string;
let root: string;

beforeEach(() => {
  home = mkdtempSync(join(tmpdir(), 'trinity-dropbox-'));
  root = join(home, 'bridge', 'training_staging');
  mkdirSync(root, { recursive: true });
});
afterEach(() => rmSync(home, { recursive: true, force: true }));

const experiences = [
  { type: 'command', input: { text: 'play jazz' }, expected_output: { intent: 'PlayMusic' } },
  { type: 'command', input: { text: 'rain tomorrow?' }, expected_output: { intent: 'GetWeather' } },
];

async function failure(promise: Promise<unknown>): Promise<TrinityError> {
  const err = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(TrinityError);
  return err as TrinityError;
}

describe('readDropboxFile', () => {
  it('reads .json, .jsonl and both gzipped', async () => {
    writeFileSync(join(root, 'a.json'), `\ufeff${JSON.stringify(experiences)}\n`);
    writeFileSync(join(root, 'b.json.gz'), gzipSync(JSON.stringify(experiences)));
    writeFileSync(join(root, 'c.jsonl'), `${experiences.map((e) => JSON.stringify(e)).join('\n')}\n\n`);
    writeFileSync(join(root, 'd.jsonl.gz'), gzipSync(experiences.map((e) => JSON.stringify(e)).join('\r\n')));
    for (const name of ['a.json', 'b.json.gz', 'c.jsonl', 'd.jsonl.gz']) expect(await readDropboxFile(name, root)).toEqual(experiences);
    expect(await readDropboxFile(join(root, 'a.json'), root)).toEqual(experiences);
  });

  it('keeps a "__proto__" key as data', async () => {
    writeFileSync(join(root, 'p.json'), '[{"type":"command","__proto__":{"polluted":true}}]');
    const [item] = (await readDropboxFile('p.json', root)) as Record<string, unknown>[];
    expect(Object.hasOwn(item, '__proto__')).toBe(true);
    expect((item as { polluted?: unknown }).polluted).toBeUndefined();
  });

  it('answers a gzip that unpacks past the limit with a 413 naming the limit, without unpacking it all', async () => {
    // One 1 MiB gzip member of spaces after "[", repeated: a 1 KiB-per-MiB bomb like the one that aborted V8.
    const member = gzipSync(Buffer.alloc(1024 ** 2, 0x20));
    const members = Math.ceil(MAX_DROPBOX_JSON_BYTES / 1024 ** 2) + 8;
    writeFileSync(join(root, 'bomb.json.gz'), Buffer.concat([gzipSync('['), ...Array.from({ length: members }, () => member)]));
    const err = await failure(readDropboxFile('bomb.json.gz', root));
    expect(err).toMatchObject({ statusCode: 413, code: 'TRN_ERR_DROPBOX_FILE_TOO_LARGE', extra: { limit_bytes: MAX_DROPBOX_JSON_BYTES } });
    expect(err.message).toBe(`dataset_path "bomb.json.gz" holds more than ${MAX_DROPBOX_JSON_BYTES} bytes of JSON once unpacked; split it into smaller files`);
  }, 60_000);

  it('applies the limit to plain files before reading them, and to JSON lines', async () => {
    writeFileSync(join(root, 'big.jsonl'), `${JSON.stringify(experiences[0])}\n`.repeat(100));
    writeFileSync(join(root, 'big.jsonl.gz'), gzipSync(`${JSON.stringify(experiences[0])}\n`.repeat(100)));
    for (const name of ['big.jsonl', 'big.jsonl.gz']) {
      const err = await failure(readDropboxFile(name, root, { maxJsonBytes: 1000, field: 'file', fail: ModelEvaluationFile }));
      expect(err).toMatchObject({ statusCode: 413, extra: { limit_bytes: 1000 } });
      expect(err.message).toMatch(/^file "big\.jsonl(\.gz)?" holds more than 1000 bytes/);
    }
  });

  it('gives one answer for every path that is not a file inside the drop-box, naming no host path', async () => {
    const outside = mkdtempSync(join(tmpdir(), 'trinity-outside-'));
    try {
      writeFileSync(join(outside, 'secret.json'), JSON.stringify(experiences));
      symlinkSync(join(outside, 'secret.json'), join(root, 'link.json'));
      mkdirSync(join(root, 'folder.json'));
      const rootName = dropboxLabel(root, home);
      expect(rootName).toBe('TRAINING_DROPBOX_DIR ($JARVIS_HOME/bridge/training_staging)');
      const paths = ['/etc/shadow', '/etc/nonexistent', join(outside, 'secret.json'), '../../x.json', 'missing.json', 'link.json', 'folder.json', root];
      for (const path of paths) {
        const err = await failure(readDropboxFile(path, root, { rootName }));
        expect(err).toMatchObject({ statusCode: 400, code: 'TRN_ERR_TRAINING_DATASET_PATH' });
        expect(err.message).toBe(`dataset_path ${JSON.stringify(path)} is not a file inside ${rootName}; put it there and give its path relative to that folder`);
      }
    } finally {
      rmSync(outside, { recursive: true, force: true });
    }
  });

  it('refuses wrong extensions, broken gzip, broken JSON and a .json that is not an array with a 400', async () => {
    writeFileSync(join(root, 'x.csv'), 'a,b\n');
    writeFileSync(join(root, 'broken.json.gz'), Buffer.from('not gzip at all'));
    writeFileSync(join(root, 'broken.json'), '[{"type": "command",');
    writeFileSync(join(root, 'object.json'), JSON.stringify({ experiences }));
    writeFileSync(join(root, 'empty.json'), '');
    writeFileSync(join(root, 'trailing.json'), '[1] [2]');
    const why = async (name: string) => (await failure(readDropboxFile(name, root))).message;
    expect(await why('x.csv')).toMatch(/must end in \.json or \.jsonl \(optionally \.gz\)/);
    expect(await why('broken.json.gz')).toMatch(/is not valid gzip \(Z_DATA_ERROR\)/);
    expect(await why('broken.json')).toMatch(/is not valid JSON/);
    expect(await why('object.json')).toMatch(/must hold a JSON array of experiences/);
    expect(await why('empty.json')).toMatch(/must hold a JSON array of experiences/);
    expect(await why('trailing.json')).toMatch(/is not valid JSON/);
  });
});
