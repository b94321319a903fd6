import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CounterBook } from '../../src/serving/counters.js';
import { PredictionLog } from '../../src/serving/prediction-log.js';

const book = new CounterBook();
const v1 = book.of('nlu', 'v1.0.0');
const v2 = book.of('nlu', 'v1.0.1');
const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('PredictionLog', () => {
  it('issues distinct random version-4 UUIDs', () => {
    const log = new PredictionLog(10);
    const ids = Array.from({ length: 2000 }, () => log.add(v1));
    for (const id of ids) expect(id).toMatch(UUID_V4);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('records the first feedback of a prediction and reports it to later claims', () => {
    const log = new PredictionLog(10);
    const a = log.add(v1);
    const b = log.add(v2);
    expect(log.claimFeedback(a, false)).toEqual({ counters: v1, earlier: undefined });
    expect(log.claimFeedback(a, true)).toEqual({ counters: v1, earlier: false });
    expect(log.claimFeedback(b, true)).toEqual({ counters: v2, earlier: undefined });
    expect(log.claimFeedback(b, true)).toEqual({ counters: v2, earlier: true });
  });

  it('knows only ids exactly as issued: not upper case, not malformed, not made up', () => {
    const log = new PredictionLog(10);
    const id = log.add(v1);
    for (const other of [id.toUpperCase(), id.slice(1), `${id}0`, id.replace(/-/g, '_'), 'nope', '', '00000000-0000-4000-8000-000000000000']) {
      expect(log.claimFeedback(other, true)).toBeUndefined();
    }
    expect(log.claimFeedback(id, true)).toBeDefined();
  });

  it('remembers exactly the last `capacity` predictions, oldest forgotten first, like a bounded insertion-ordered map', () => {
    // Small capacities make the index's probe runs collide and wrap, so removal is exercised thoroughly.
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 9 }), fc.array(fc.boolean(), { minLength: 1, maxLength: 300 }), (capacity, steps) => {
        const log = new PredictionLog(capacity);
        const model = new Map<string, boolean | undefined>();
        const issued: string[] = [];
        for (const [i, add] of steps.entries()) {
          if (add || issued.length === 0) {
            const id = log.add(i % 2 ? v1 : v2);
            issued.push(id);
            model.set(id, undefined);
            if (model.size > capacity) model.delete(model.keys().next().value!);
          } else {
            const id = issued[(i * 7) % issued.length];
            const claim = log.claimFeedback(id, i % 3 === 0);
            if (!model.has(id)) expect(claim).toBeUndefined();
            else {
              expect(claim?.earlier).toBe(model.get(id));
              if (model.get(id) === undefined) model.set(id, i % 3 === 0);
            }
          }
        }
        expect(log.size).toBe(model.size);
        for (const id of issued) expect(log.claimFeedback(id, true) !== undefined).toBe(model.has(id));
      }),
      { numRuns: 300 },
    );
  });
});
