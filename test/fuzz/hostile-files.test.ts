/**
 * A corpus of hostile files dropped into reactor's events folder: each one must end up in rejected/
 * next to a `.error.json` saying why (without host paths), the service must stay healthy, and nothing
 * may pollute Object.prototype. A gzip bomb handed to training through the drop-box must get a 4xx.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/config.js';
import { Reactor } from '../../src/reactor/reactor-service.js';
import { createLogger } from '../../src/util/logger.js';
import { tempHome, waitFor } from '../helpers/processes.js';

const MB = 1024 * 1024;
/** Compresses to about 256 KB, inflates to 256 MB: past every limit a reader should have. */
let bombBytes: Buffer | null = null;
const bomb = () => (bombBytes ??= gzipSync(Buffer.alloc(256 * MB, 0x20), { level: 1 }));
/** How long the intake gets to deal with the whole corpus (JSON lines files wait 2 s to settle). */
const INTAKE_MS = 15_000;

/** name → how to create it in the events folder. */
const CORPUS: Record<string, (path: string) => void> = {
  'bomb.json.gz': (p) => writeFileSync(p, bomb()),
  'bomb.jsonl.gz': (p) => writeFileSync(p, bomb()),
  'deep.json': (p) => writeFileSync(p, '['.repeat(500_000) + ']'.repeat(500_000)),
  'deep-object.json': (p) => writeFileSync(p, '{"a":'.repeat(200_000) + '1' + '}'.repeat(200_000)),
  'invalid-utf8.jsonl': (p) => writeFileSync(p, Buffer.concat([Buffer.from('{"type":"command","input":{"text":"'), Buffer.from([0xff, 0xfe, 0xc3, 0x28]), Buffer.from('"},"expected_output":{"intent":"X"}}\n')])),
  'huge-line.jsonl': (p) => writeFileSync(p, 'x'.repeat(32 * MB) + '\n'),
  'link.json': (p) => symlinkSync('/etc/passwd', p),
  'fifo.jsonl': (p) => execFileSync('mkfifo', [p]),
  'folder.json': (p) => mkdirSync(p),
  'not-json.json': (p) => writeFileSync(p, 'hello, this is not JSON'),
};

/** Files whose experiences carry prototype names: not bad files, but they must not break anything. */
const PROTO_FILES: Record<string, string> = {
  'proto-types.json': JSON.stringify({ experiences: ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty'].map((type, i) => ({ id: `proto-${i}`, type, input: { text: `x ${i}` }, expected_output: { intent: type } })) }),
  'proto-model-type.json': JSON.stringify({ batch_id: 'b', model_type: '__proto__', experiences: [{ id: 'proto-mt', type: 'command', input: { text: 'y' } }] }),
  'proto-keys.jsonl': '{"__proto__": {"polluted": true}, "id": "proto-k", "type": "command", "input": {"text": "z", "constructor": {"prototype": {"polluted": true}}}}\n',
};

const HOST_PATHS = ['/etc/', '/root'];

describe('reactor intake under hostile files', () => {
  let reactor: Reactor;
  let home: string;
  let events: string;

  beforeAll(async () => {
    home = tempHome('trinity-fuzz-files-');
    reactor = new Reactor({ config: parseConfig({ JARVIS_HOME: home, REACTOR_CORE_PORT: '0', EXPERIENCE_RECONCILE_INTERVAL: '1' }), logger: createLogger({ service: 'reactor', level: 'silent' }) });
    await reactor.start();
    events = join(home, 'trinity/events');
    for (const [name, create] of Object.entries(CORPUS)) create(join(events, name));
    for (const [name, text] of Object.entries(PROTO_FILES)) writeFileSync(join(events, name), text);
    // One wait for the whole corpus; each case below then looks at what the intake did.
    await waitFor(() => readdirSync(events).every((n) => n === 'rejected'), INTAKE_MS, 'an empty events folder').catch(() => undefined);
  });
  afterAll(async () => {
    await reactor?.close();
  });

  it.each(Object.keys(CORPUS))('quarantines %s in rejected/ with a reason and no host path', async (name) => {
    const rejected = join(events, 'rejected');
    const errorFile = existsSync(rejected) ? readdirSync(rejected).find((n) => n.startsWith(name) && n.endsWith('.error.json')) : undefined;
    const record = errorFile ? readFileSync(join(rejected, errorFile), 'utf8') : null;
    expect(record, `${name} was not quarantined; events folder: ${readdirSync(events).join(', ')}`).not.toBeNull();
    const body = JSON.parse(record!) as Record<string, unknown>;
    expect(body).toMatchObject({ file: name, error: expect.any(String), details: expect.any(String), rejected_at: expect.any(String) });
    expect(record).not.toContain(home);
    for (const p of HOST_PATHS) expect(record).not.toContain(p);
    expect(existsSync(join(events, name))).toBe(false);
  });

  it('takes files of prototype-named types and keys without polluting anything, and keeps answering', async () => {
    expect(Object.keys(PROTO_FILES).filter((n) => existsSync(join(events, n))), 'files left in the events folder').toEqual([]);
    const stats = await reactor.app.inject({ method: 'GET', url: '/api/experiences/stats' });
    expect(stats.statusCode).toBe(200);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect((await reactor.app.inject({ method: 'GET', url: '/api/health' })).statusCode).toBe(200);
  });

  it('refuses a gzip bomb in the drop-box with a 4xx, not a crash or a 5xx', async () => {
    const dropbox = join(home, 'bridge/training_staging');
    mkdirSync(dropbox, { recursive: true });
    writeFileSync(join(dropbox, 'bomb.json.gz'), bomb());
    const res = await reactor.app.inject({ method: 'POST', url: '/api/training/start', payload: { model_type: 'nlu', dataset_path: join(dropbox, 'bomb.json.gz'), use_dropbox: true } });
    expect(res.statusCode, res.body).toBeGreaterThanOrEqual(400);
    expect(res.statusCode, res.body).toBeLessThan(500);
    expect((await reactor.app.inject({ method: 'GET', url: '/api/health' })).statusCode).toBe(200);
  });
});
