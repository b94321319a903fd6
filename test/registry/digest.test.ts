import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { digestOf } from '../../src/registry/index.js';
import { comparePaths } from '../../src/registry/digest.js';
import { createFixture, type Fixture } from './helpers.js';

const sha = (s: string) => createHash('sha256').update(s).digest('hex');

function hasCoreutils(): boolean {
  try {
    execFileSync('sh', ['-c', 'command -v sha256sum && command -v find && command -v xargs'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

let f: Fixture;
beforeEach(() => {
  f = createFixture();
});
afterEach(() => f.close());

describe('digestOf', () => {
  it('hashes sha256sum-style lines sorted by UTF-8 bytes, whatever order the files come in', () => {
    const files = [
      { path: 'b/x', bytes: 3, sha256: sha('abc') },
      { path: 'Z', bytes: 1, sha256: sha('z') },
      { path: 'a/y', bytes: 5, sha256: sha('hello') },
    ];
    const lines = `${sha('z')}  Z\n${sha('hello')}  a/y\n${sha('abc')}  b/x\n`;
    expect(digestOf(files)).toBe(`sha256:${sha(lines)}`);
    expect(digestOf([...files].reverse())).toBe(digestOf(files));
    // Documented value for this tree, checked once with coreutils.
    expect(digestOf(files)).toBe('sha256:20363966efa1aea2590ef4bc4a5072bf59d4116a5586a4d6533c8da86abadb9d');
  });

  it('sorts paths by UTF-8 bytes like LC_ALL=C sort, not by UTF-16 units', () => {
    // JS order puts U+1F600 (surrogates D83D DE00) before U+FF5E; its UTF-8 bytes (F0 …) come after EF BD 9E.
    expect(['\u{1F600}', '\uFF5E'].sort(comparePaths)).toEqual(['\uFF5E', '\u{1F600}']);
  });

  it.runIf(hasCoreutils())('matches the shell recipe in digest.ts for a registered version', async () => {
    const v = await f.registry.register(f.input('job-1'));
    const out = execFileSync(
      'sh',
      ['-c', "find . -type f ! -path ./manifest.json -printf '%P\\0' | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum"],
      { cwd: await f.registry.pathOf('nlu', v.version), encoding: 'utf8' },
    );
    expect(`sha256:${out.split(' ')[0]}`).toBe(v.digest);
  });
});
