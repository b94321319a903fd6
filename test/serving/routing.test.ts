import { describe, expect, it } from 'vitest';
import { CounterBook } from '../../src/serving/counters.js';
import { LoadedVersion } from '../../src/serving/loaded-version.js';
import { chooseVersion, createTable } from '../../src/serving/routing-table.js';
import type { Predictor } from '../../src/models/index.js';

const book = new CounterBook();

function fakeVersion(version: string, onDispose: () => void = () => undefined): LoadedVersion {
  const predictor: Predictor = { modelType: 'nlu', predict: () => ({ intent: version }), dispose: onDispose };
  return new LoadedVersion('nlu', version, `sha256:${version}`, predictor, book.of('nlu', version));
}

const stable = fakeVersion('v1.0.0');
const canary = fakeVersion('v1.0.1');
const at = new Date(0).toISOString();

describe('chooseVersion', () => {
  it('keeps each of 100 sessions on one version over 1,000 predictions at 25 %, with the canary share within ±5 points', () => {
    const table = createTable('nlu', stable, canary, 25, 'dep-1', at);
    const seen = new Map<string, Set<string>>();
    let toCanary = 0;
    for (let i = 0; i < 1000; i++) {
      const session = `session-${i % 100}`;
      const v = chooseVersion(table, session, Math.random)!;
      if (v === canary) toCanary++;
      if (!seen.has(session)) seen.set(session, new Set());
      seen.get(session)!.add(v.version);
    }
    expect(seen.size).toBe(100);
    for (const versions of seen.values()) expect(versions.size).toBe(1);
    expect(Math.abs(toCanary / 10 - 25)).toBeLessThanOrEqual(5);
  });

  it('moves a session only when the percentage passes its bucket: raising the split never sends a canary session back', () => {
    const sessions = Array.from({ length: 500 }, (_, i) => `s${i}`);
    let previous = new Set<string>();
    for (const pct of [10, 25, 50, 75, 100]) {
      const table = createTable('nlu', stable, canary, pct, null, at);
      const onCanary = new Set(sessions.filter((s) => chooseVersion(table, s, Math.random) === canary));
      for (const s of previous) expect(onCanary.has(s)).toBe(true);
      previous = onCanary;
    }
    expect(previous.size).toBe(500);
  });

  it('draws per request without a session id', () => {
    const table = createTable('nlu', stable, canary, 25, null, at);
    expect(chooseVersion(table, undefined, () => 0.2499)).toBe(canary);
    expect(chooseVersion(table, undefined, () => 0.25)).toBe(stable);
  });

  it('sends everything to stable at 0 % or without a canary, and to the canary when there is no stable', () => {
    expect(chooseVersion(createTable('nlu', stable, canary, 0, null, at), 'x', () => 0)).toBe(stable);
    expect(chooseVersion(createTable('nlu', stable, null, 50, null, at), 'x', () => 0)).toBe(stable);
    expect(chooseVersion(createTable('nlu', null, canary, 10, null, at), 'x', () => 0.99)).toBe(canary);
    expect(chooseVersion(createTable('nlu', null, null, 0, null, at), 'x', () => 0)).toBeNull();
  });
});

describe('LoadedVersion', () => {
  it('disposes a retired predictor only after the last request holding it releases it', () => {
    let disposed = 0;
    const v = fakeVersion('v2.0.0', () => disposed++);
    v.acquire();
    v.acquire();
    v.retire();
    expect(disposed).toBe(0);
    v.release();
    expect(disposed).toBe(0);
    v.release();
    expect(disposed).toBe(1);
    v.retire();
    expect(disposed).toBe(1);
  });

  it('disposes at once when retired with nothing in flight', () => {
    let disposed = 0;
    fakeVersion('v2.0.1', () => disposed++).retire();
    expect(disposed).toBe(1);
  });
});
