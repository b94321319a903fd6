import { expect, it } from 'vitest';
import { initialStatus, reconcile, TERMINAL_EVENTS } from '../../src/rollout/index.js';
import { schemaVersion } from '../../src/store/database.js';
import { postgresSchemaVersion } from '../../src/store/open-sql.js';
import { DeploymentsStore } from '../../src/rollout/deployments-store.js';
import { RolloutEngine } from '../../src/rollout/rollout-engine.js';
import { SplitPusher } from '../../src/rollout/split-pusher.js';
import { ModelsStore } from '../../src/registry/models-store.js';
import type { Intent } from '../../src/rollout/index.js';
import type { SqlDb } from '../../src/store/sql.js';
import { T0, obs, outcomes, spec } from '../rollout/helpers.js';
import { describeStores } from './harness.js';

const record = (id: string, overrides = {}) => {
  const s = spec({ deploymentId: id, ...overrides });
  return { spec: s, status: initialStatus(s, T0).status };
};

describeStores('DeploymentsStore', (fresh) => {
  it('is migration 2 and keeps one active deployment per model type', async () => {
    const { db, sqlite } = await fresh();
    const store = new DeploymentsStore(db);
    expect(sqlite ? schemaVersion(sqlite) : await postgresSchemaVersion(db)).toBeGreaterThanOrEqual(2);
    expect(await store.insert(record('a'), [{ event: 'started', data: { n: 1 } }])).toEqual({
      inserted: true,
      events: [{ id: 1, event: 'started', data: { n: 1 }, createdAt: T0 / 1000 }],
    });
    expect(await store.insert(record('b'), [])).toEqual({ inserted: false, activeId: 'a' });
    expect((await store.insert(record('c', { modelType: 'voice' }), [])).inserted).toBe(true);
    expect((await store.active()).map((r) => r.spec.deploymentId)).toEqual(['a', 'c']);
    // The index itself refuses a second active row, whatever the caller checked.
    await expect(db.run("UPDATE deployments SET model_type = 'nlu' WHERE deployment_id = 'c'")).rejects.toThrow(/UNIQUE|unique/);
  });

  it('saves status and events together, numbering events on, and frees the type once the deployment ends', async () => {
    const store = new DeploymentsStore((await fresh()).db);
    const rec = record('a', { strategy: 'immediate', steps: [100] });
    await store.insert(rec, [{ event: 'started', data: {} }]);
    const r = reconcile(rec.spec, rec.status, obs(), T0 + 1000);
    const events = await store.saveStatus('a', r.status, r.decisions.map((d) => ({ event: d.event, data: { reason: d.reason } })));
    expect(events).toEqual([{ id: 2, event: 'completed', data: { reason: 'RolloutCompleted' }, createdAt: (T0 + 1000) / 1000 }]);
    expect((await store.get('a'))?.status).toEqual(r.status);
    expect((await store.eventsSince('a', 1)).map((e) => e.event)).toEqual(['completed']);
    expect(await store.activeFor('nlu')).toBeUndefined();
    expect((await store.lastCompletedAs('nlu', 'v1.0.1'))?.spec.previousVersion).toBe('v1.0.0');
    expect((await store.list({ phase: 'completed' })).map((x) => x.spec.deploymentId)).toEqual(['a']);
  });

  it('accumulates counts per deployment and version, and keeps the mark of the last stats read', async () => {
    const store = new DeploymentsStore((await fresh()).db);
    await store.insert(record('a'), []);
    await store.addCounts('a', 'v1.0.1', outcomes(3, 1));
    await store.addCounts('a', 'v1.0.1', outcomes(2, 0, 1));
    expect(await store.counts('a')).toEqual({ 'v1.0.1': { requests: 7, errors: 1, feedbackSuccess: 5, feedbackFailure: 1 } });
    expect(await store.mark()).toBeNull();
    await store.setMark({ instanceId: 'p1', models: { nlu: { 'v1.0.1': outcomes(1, 0) } } }, T0);
    await store.setMark({ instanceId: 'p2', models: {} }, T0);
    expect(await store.mark()).toEqual({ instanceId: 'p2', models: {} });
  });

  it('breaks ties of equal creation times by insertion order, newest first in lists and oldest first when active', async () => {
    const store = new DeploymentsStore((await fresh()).db);
    for (const [id, type] of [['z', 'nlu'], ['m', 'voice'], ['a', 'vision']] as const) await store.insert(record(id, { modelType: type }), []);
    expect((await store.list()).map((r) => r.spec.deploymentId)).toEqual(['a', 'm', 'z']);
    expect((await store.active()).map((r) => r.spec.deploymentId)).toEqual(['z', 'm', 'a']);
  });

  it('starts one deployment per type when two handles deploy it at once, and numbers a shared log without gaps', async () => {
    const { db, another } = await fresh();
    const handles = [db, await another(), await another()];
    const stores = handles.map((h) => new DeploymentsStore(h));
    await Promise.all(handles.map((h) => h.get('SELECT 1')));
    const results = await Promise.all(stores.map((s, i) => s.insert(record(`d${i}`), [{ event: 'started', data: {} }])));
    const won = results.flatMap((r, i) => (r.inserted ? [`d${i}`] : []));
    expect(won).toHaveLength(1);
    expect(results.filter((r) => !r.inserted)).toEqual([
      { inserted: false, activeId: won[0] },
      { inserted: false, activeId: won[0] },
    ]);
    // Status writes of one deployment from three handles: each appends after the others, none collides.
    const { status } = (await stores[0].get(won[0]))!;
    await Promise.all(stores.map((s, i) => s.saveStatus(won[0], { ...status, updatedAt: T0 + i }, [{ event: 'waiting', data: { i } }, { event: 'waiting', data: { i } }])));
    expect((await stores[1].eventsSince(won[0], 0)).map((e) => e.id)).toEqual([1, 2, 3, 4, 5, 6, 7]);
  });

  it('lets one of three commands racing on separate handles end a deployment; the others find it ended', async () => {
    const { db, another } = await fresh();
    const handles: SqlDb[] = [db, await another(), await another()];
    const models = new ModelsStore(db);
    for (const [v, job] of [['v1.0.0', 'a'], ['v1.0.1', 'b']]) {
      await models.insertVersion({ modelType: 'nlu', version: v, jobId: job, digest: 'sha256:x', manifest: { version: v } as never, createdAtMs: T0 });
    }
    const store = new DeploymentsStore(db);
    await store.insert(record('d'), [{ event: 'started', data: {} }]);
    const pusher = new SplitPusher({ pushSplit: async () => ({}) });
    const engines = handles.map((h) => new RolloutEngine(h, pusher));
    // Connected beforehand, so no handle's transaction ends before the others' begin.
    await Promise.all(handles.map((h) => h.get('SELECT 1')));
    const intents: Intent[] = ['promote', 'abort', 'promote'];
    // Each reads the deployment under its transaction, locked on Postgres: without the lock all three read
    // `deploying` and each appends its own end.
    await Promise.all(engines.map((e, i) => e.transaction(async (t) => t.reconcileOne((await t.store.get('d', true))!, [intents[i]], T0 + 1000))));
    const ends = (await store.eventsSince('d', 0)).filter((e) => (TERMINAL_EVENTS as readonly string[]).includes(e.event));
    expect(ends).toHaveLength(1);
    const { status } = (await store.get('d'))!;
    expect(ends[0].event).toBe(status.phase);
    expect((await models.pointers('nlu')).stable).toBe(status.phase === 'completed' ? 'v1.0.1' : 'v1.0.0');
  });
});
