import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { waitUntilIngested } from '../../src/coordinator/index.js';
import { tempHome } from '../helpers/processes.js';

describe('waitUntilIngested', () => {
  it('resolves with [] as soon as reactor has taken (deleted) every file', async () => {
    const dir = tempHome('trinity-ingest-wait-');
    const files = ['a.json', 'b.json'].map((n) => join(dir, n));
    for (const f of files) writeFileSync(f, '{}');
    setTimeout(() => rmSync(files[0]!), 100);
    setTimeout(() => rmSync(files[1]!), 250);
    const t0 = Date.now();
    expect(await waitUntilIngested(files, { pollMs: 20, timeoutMs: 5_000 })).toEqual([]);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(240);
    expect(Date.now() - t0).toBeLessThan(2_000);
  });

  it('gives up after timeoutMs, or when aborted, with the files still there', async () => {
    const dir = tempHome('trinity-ingest-wait-');
    const file = join(dir, 'stuck.json');
    writeFileSync(file, '{}');
    expect(await waitUntilIngested([file], { pollMs: 20, timeoutMs: 100 })).toEqual([file]);
    const stop = new AbortController();
    setTimeout(() => stop.abort(), 50);
    const t0 = Date.now();
    expect(await waitUntilIngested([file], { pollMs: 1_000, timeoutMs: 10_000, signal: stop.signal })).toEqual([file]);
    expect(Date.now() - t0).toBeLessThan(900);
  });
});
