import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig, type Config } from '../../src/config/config.js';
import { Reactor } from '../../src/reactor/reactor-service.js';
import { MAX_DROPBOX_JSON_BYTES } from '../../src/training/dropbox.js';
import { createLogger } from '../../src/util/logger.js';
import { tempHome } from '../helpers/processes.js';

interface ErrorAnswer {
  error: string;
  details: string;
  code: string;
  limit_bytes?: number;
}

describe('POST /api/training/start with a drop-box file', () => {
  let reactor: Reactor;
  let config: Config;
  const inject = (opts: InjectOptions) => reactor.app.inject(opts);
  const start = (payload: unknown) =>
    inject({ method: 'POST', url: '/api/training/start', headers: { 'content-type': 'application/json' }, payload: JSON.stringify(payload) });

  beforeAll(async () => {
    config = parseConfig({ JARVIS_HOME: tempHome(), REACTOR_CORE_PORT: '0', JARVIS_PRIME_ENABLED: 'false' });
    reactor = new Reactor({ config, logger: createLogger({ service: 'reactor', level: 'silent' }) });
    await reactor.start();
  });
  afterAll(async () => {
    await reactor?.close();
  });

  it('answers a 2.7 MB gzip that unpacks to 2.7 GB with a 413 naming the limit, and keeps serving', async () => {
    // 2,700 gzip members of 1 MiB of spaces each after "[": the file of the report, which aborted V8 when unpacked whole.
    const member = gzipSync(Buffer.alloc(1024 ** 2, 0x20));
    writeFileSync(join(config.paths.dropbox, 'b.json.gz'), Buffer.concat([gzipSync('['), ...Array.from({ length: 2700 }, () => member)]));
    const res = await start({ model_type: 'nlu', dataset_path: 'b.json.gz', use_dropbox: true });
    expect(res.statusCode, res.body).toBe(413);
    expect(res.json<ErrorAnswer>()).toMatchObject({ code: 'TRN_ERR_DROPBOX_FILE_TOO_LARGE', limit_bytes: MAX_DROPBOX_JSON_BYTES, error: expect.stringContaining(`more than ${MAX_DROPBOX_JSON_BYTES} bytes`) });
    expect((await inject({ method: 'GET', url: '/api/health' })).statusCode).toBe(200);
  }, 60_000);

  it('gives the same answer for a host file and a missing one, without the host paths of the drop-box', async () => {
    const answers = await Promise.all(['/etc/shadow', '/etc/nonexistent'].map((path) => start({ model_type: 'nlu', dataset_path: path, use_dropbox: true })));
    const [shadow, missing] = answers.map((a) => {
      expect(a.statusCode).toBe(400);
      return a.json<ErrorAnswer>();
    });
    const expected = 'is not a file inside TRAINING_DROPBOX_DIR ($JARVIS_HOME/bridge/training_staging); put it there and give its path relative to that folder';
    expect(shadow.error).toBe(`dataset_path "/etc/shadow" ${expected}`);
    expect(missing.error).toBe(`dataset_path "/etc/nonexistent" ${expected}`);
    for (const a of [shadow, missing]) expect(JSON.stringify(a)).not.toContain(config.home);
  });
});
