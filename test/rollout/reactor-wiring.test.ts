import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/config.js';
import { Reactor } from '../../src/reactor/reactor-service.js';
import { ModelRegistry } from '../../src/registry/index.js';
import { openDatabase } from '../../src/store/database.js';
import { SqliteSql } from '../../src/store/sql.js';
import { FakePrime } from './helpers.js';
import { waitFor } from './service-fixture.js';

const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

describe('Reactor deployments', () => {
  it('serves the deployment API with the configured prime and tick, and GET /api/models names the active deployment', async () => {
    const home = mkdtempSync(join(tmpdir(), 'trinity-reactor-deploy-'));
    cleanup.push(() => rmSync(home, { recursive: true, force: true }));
    const fake = await new FakePrime().start();
    cleanup.push(() => fake.close());
    const config = parseConfig({ JARVIS_HOME: home, REACTOR_CORE_PORT: '0', JARVIS_PRIME_URL: fake.url, DEPLOYMENT_TICK_MS: '20' });

    // Two versions registered before the reactor starts, as an earlier run would have left them.
    const db = openDatabase({ path: config.databasePath });
    const registry = new ModelRegistry({ db: new SqliteSql(db), modelsDir: config.paths.models });
    for (const i of [0, 1]) {
      const src = join(home, `export-${i}`);
      mkdirSync(src, { recursive: true });
      writeFileSync(join(src, 'model.json'), String(i));
      await registry.register({ modelType: 'nlu', jobId: `job-${i}`, sourceDir: src, metrics: { val_accuracy: 0.9 }, counts: {} });
    }
    db.close();

    const reactor = new Reactor({ config, logger: pino({ level: 'silent' }) });
    cleanup.push(() => reactor.close());
    const url = `http://127.0.0.1:${await reactor.start()}`;
    const res = await fetch(`${url}/api/models/deploy`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model_type: 'nlu', model_version: 'v1.0.1', strategy: 'canary', config: { min_samples: 5, monitor_duration_seconds: 0 } }),
    });
    expect(res.status).toBe(200);
    const { deployment_id: id } = (await res.json()) as { deployment_id: string };
    const models = (await (await fetch(`${url}/api/models`)).json()) as { models: Record<string, { deployment_id: string | null; canary: string | null }> };
    expect(models.models.nlu).toMatchObject({ canary: 'v1.0.1', deployment_id: id });
    await waitFor(() => fake.lastSplit('nlu')?.deployment_id === id, 2_000, 'the split at prime');

    fake.add('nlu', 'v1.0.1', 5, 0);
    await waitFor(async () => ((await (await fetch(`${url}/api/models/deployments/${id}`)).json()) as { status: string }).status === 'completed', 3_000, 'completion');
    const health = (await (await fetch(`${url}/api/health`)).json()) as { models_deployed: Record<string, string> };
    expect(health.models_deployed).toEqual({ nlu: 'v1.0.1' });
    await reactor.close();
    await reactor.close();
  });
});
