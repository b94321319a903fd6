/**
 * The auto-trigger's nudged checks (CONTRACT §6 "checked when new experiences cross the threshold
 * (debounced, within seconds)"), on fake timers: a stub reactor whose counts the test sets, and the real
 * queue over an in-memory database, so "one pending job per type" is the store's own rule.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ExperienceStats } from '../../src/client/types.js';
import { AutoTrigger, JobQueue, LeaseLock, type AutoTriggerOptions } from '../../src/coordinator/index.js';
import { CoordinatorStore } from '../../src/coordinator/coordinator-store.js';
import { SqliteSql } from '../../src/store/sql.js';
import { openDatabase, type Db } from '../../src/store/database.js';

const INTERVAL_MS = 300_000;

/** A reactor whose new_since_last_training the test sets; `reads` counts the stats requests. */
class StubReactor {
  counts: Record<string, number> = {};
  reads = 0;
  /** When set, a read waits for this before answering (with the counts as they were when it was asked). */
  hold: Promise<void> | null = null;

  async experienceStats(): Promise<ExperienceStats> {
    this.reads++;
    const snapshot = { ...this.counts };
    if (this.hold) await this.hold;
    return Object.fromEntries(Object.entries(snapshot).map(([t, n]) => [t, { total: n, usable: n, new_since_last_training: n, last_trained_at: null }])) as ExperienceStats;
  }
}

describe('AutoTrigger.nudge', () => {
  let db: Db;
  let queue: JobQueue;
  let reactor: StubReactor;
  let auto: AutoTrigger;

  function startAuto(o: Partial<AutoTriggerOptions> = {}): AutoTrigger {
    auto = new AutoTrigger({ reactor, queue, minExperiences: 100, intervalMs: INTERVAL_MS, debounceMs: 1_500, maxDelayMs: 5_000, ...o });
    auto.start();
    return auto;
  }

  beforeEach(() => {
    vi.useFakeTimers();
    db = openDatabase({ path: ':memory:' });
    const store = new CoordinatorStore(new SqliteSql(db));
    queue = new JobQueue({ store, lock: new LeaseLock({ store, ttlMs: 60_000 }) });
    reactor = new StubReactor();
  });

  afterEach(async () => {
    await auto.close();
    vi.useRealTimers();
    db.close();
  });

  it('checks once, debounceMs after the last of a burst of nudges, and queues the job', async () => {
    startAuto();
    reactor.counts = { nlu: 120 };
    auto.nudge();
    await vi.advanceTimersByTimeAsync(1_000);
    auto.nudge();
    await vi.advanceTimersByTimeAsync(1_000);
    auto.nudge();
    await vi.advanceTimersByTimeAsync(1_400);
    expect(reactor.reads).toBe(0);
    await vi.advanceTimersByTimeAsync(100);
    expect(reactor.reads).toBe(1);
    expect((await queue.view()).map((j) => [j.model_type, j.source])).toEqual([['nlu', 'auto']]);
    expect(auto.lastCheck()).toMatchObject({ counts: { nlu: 120 }, error: null });
  });

  it('checks by maxDelayMs after the first nudge while nudges keep coming', async () => {
    startAuto();
    reactor.counts = { voice: 100 };
    for (let t = 0; t < 5_000; t += 1_000) {
      auto.nudge();
      await vi.advanceTimersByTimeAsync(1_000);
    }
    expect(reactor.reads).toBe(1);
    expect((await queue.view()).map((j) => j.model_type)).toEqual(['voice']);
  });

  it('never queues a second job of a type, however many nudged and interval checks run', async () => {
    startAuto();
    reactor.counts = { nlu: 150, vision: 99 };
    for (let i = 0; i < 20; i++) {
      auto.nudge();
      await vi.advanceTimersByTimeAsync(1_600);
      reactor.counts.nlu += 50;
    }
    await vi.advanceTimersByTimeAsync(INTERVAL_MS);
    expect(reactor.reads).toBe(21);
    expect((await queue.view()).map((j) => j.model_type)).toEqual(['nlu']);
  });

  it('waits for the forwarded files to be ingested before reading the counts', async () => {
    const waits: string[][] = [];
    let ingestDone!: () => void;
    startAuto({
      ingested: (files) => {
        waits.push(files);
        return new Promise<void>((r) => (ingestDone = r));
      },
    });
    reactor.counts = { nlu: 40 };
    auto.nudge('/events/a.json');
    auto.nudge('/events/b.json');
    await vi.advanceTimersByTimeAsync(10_000);
    expect(waits).toEqual([['/events/a.json', '/events/b.json']]);
    expect(reactor.reads).toBe(0);
    // Reactor commits the files: now its counts include them.
    reactor.counts = { nlu: 140 };
    ingestDone();
    await vi.advanceTimersByTimeAsync(0);
    expect(reactor.reads).toBe(1);
    expect((await queue.view()).map((j) => j.model_type)).toEqual(['nlu']);
  });

  it('asks again when an interval check began before the files were ingested', async () => {
    let ingestDone!: () => void;
    let release!: () => void;
    startAuto({ intervalMs: 2_000, ingested: () => new Promise<void>((r) => (ingestDone = r)) });
    reactor.counts = { nlu: 60 };
    reactor.hold = new Promise<void>((r) => (release = r));
    auto.nudge('/events/a.json');
    await vi.advanceTimersByTimeAsync(2_000); // the nudge waits for ingestion; the interval check reads 60 and hangs
    expect(reactor.reads).toBe(1);
    reactor.counts = { nlu: 160 };
    ingestDone();
    await vi.advanceTimersByTimeAsync(0);
    reactor.hold = null;
    release();
    await vi.advanceTimersByTimeAsync(0);
    expect(reactor.reads).toBe(2);
    expect(auto.lastCheck()).toMatchObject({ counts: { nlu: 160 } });
    expect((await queue.view()).map((j) => j.model_type)).toEqual(['nlu']);
  });

  it('ignores nudges while auto-training is off (not started) and drops a pending one on close', async () => {
    auto = new AutoTrigger({ reactor, queue, minExperiences: 100, intervalMs: INTERVAL_MS });
    reactor.counts = { nlu: 500 };
    auto.nudge();
    await vi.advanceTimersByTimeAsync(10_000);
    expect(reactor.reads).toBe(0);

    let aborted = false;
    startAuto({ ingested: (_files, signal) => new Promise<void>((r) => signal.addEventListener('abort', () => ((aborted = true), r()))) });
    auto.nudge('/events/a.json');
    await vi.advanceTimersByTimeAsync(2_000);
    await auto.close();
    expect(aborted).toBe(true);
    expect(reactor.reads).toBe(0);
    expect(await queue.length()).toBe(0);
  });

  it('rejects a maxDelayMs shorter than debounceMs', () => {
    expect(() => new AutoTrigger({ reactor, queue, minExperiences: 1, intervalMs: 1_000, debounceMs: 2_000, maxDelayMs: 1_000 })).toThrow(/maxDelayMs/);
    auto = new AutoTrigger({ reactor, queue, minExperiences: 1, intervalMs: 1_000 });
  });
});
