import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { initialStatus, reconcile } from '../../src/rollout/index.js';
import { openDatabase, schemaVersion, type Db } from '../../src/store/database.js';
import { DeploymentsStore } from '../../src/rollout/deployments-store.js';
import { T0, obs, outcomes, spec } from './helpers.js';

let db: Db;
let store: DeploymentsStore;
beforeEach(() => {
  db = openDatabase({ path: ':memory:' });
  store = new DeploymentsStore(db);
});
afterEach(() => db.close());

const record = (id: string, overrides = {}) => {
  const s = spec({ deploymentId: id, ...overrides });
  return { spec: s, status: initialStatus(s, T0).status };
};

describe('DeploymentsStore', () => {
  it('is migration 2 and keeps one active deployment per model type', () => {
    expect(schemaVersion(db)).toBeGreaterThanOrEqual(2);
    expect(store.insert(record('a'), [{ event: 'started', data: { n: 1 } }])).toEqual({
      inserted: true,
      events: [{ id: 1, event: 'started', data: { n: 1 }, createdAt: T0 / 1000 }],
    });
    expect(store.insert(record('b'), [])).toEqual({ inserted: false, activeId: 'a' });
    expect(store.insert(record('c', { modelType: 'voice' }), []).inserted).toBe(true);
    expect(store.active().map((r) => r.spec.deploymentId)).toEqual(['a', 'c']);
    // The index itself refuses a second active row, whatever the caller checked.
    expect(() => db.prepare("UPDATE deployments SET model_type = 'nlu' WHERE deployment_id = 'c'").run()).toThrow(/UNIQUE/);
  });

  it('saves status and events together, numbering events on, and frees the type once the deployment ends', () => {
    const rec = record('a', { strategy: 'immediate', steps: [100] });
    store.insert(rec, [{ event: 'started', data: {} }]);
    const r = reconcile(rec.spec, rec.status, obs(), T0 + 1000);
    const events = store.saveStatus('a', r.status, r.decisions.map((d) => ({ event: d.event, data: { reason: d.reason } })));
    expect(events).toEqual([{ id: 2, event: 'completed', data: { reason: 'RolloutCompleted' }, createdAt: (T0 + 1000) / 1000 }]);
    expect(store.get('a')?.status).toEqual(r.status);
    expect(store.eventsSince('a', 1).map((e) => e.event)).toEqual(['completed']);
    expect(store.activeFor('nlu')).toBeUndefined();
    expect(store.lastCompletedAs('nlu', 'v1.0.1')?.spec.previousVersion).toBe('v1.0.0');
    expect(store.list({ phase: 'completed' }).map((x) => x.spec.deploymentId)).toEqual(['a']);
  });

  it('accumulates counts per deployment and version, and keeps the mark of the last stats read', () => {
    store.insert(record('a'), []);
    store.addCounts('a', 'v1.0.1', outcomes(3, 1));
    store.addCounts('a', 'v1.0.1', outcomes(2, 0, 1));
    expect(store.counts('a')).toEqual({ 'v1.0.1': { requests: 7, errors: 1, feedbackSuccess: 5, feedbackFailure: 1 } });
    expect(store.mark()).toBeNull();
    store.setMark({ instanceId: 'p1', models: { nlu: { 'v1.0.1': outcomes(1, 0) } } }, T0);
    store.setMark({ instanceId: 'p2', models: {} }, T0);
    expect(store.mark()).toEqual({ instanceId: 'p2', models: {} });
  });
});
