import { afterEach, describe, expect, it } from 'vitest';
import { postJson, startService, tempHome, type ServiceProcess } from '../helpers/processes.js';
import { readSnips, snipsExperiences } from '../helpers/snips.js';
import { FakeReactor } from '../jarvis/fakes.js';
import { startCoordinator, type Harness } from './harness.js';

/** TRAINING_MEMORY_RESERVE_GB '' is unset: the default, which FAST_JARVIS_ENV otherwise overrides. */
const UNSET = { TRAINING_MEMORY_RESERVE_GB: '' };

describe("a job's memory need", () => {
  const open: Array<Harness | FakeReactor> = [];
  afterEach(async () => {
    for (const x of open.splice(0).reverse()) await x.close();
  });
  const run = async (reactorOptions: ConstructorParameters<typeof FakeReactor>[0], env: Record<string, string>, host: number) => {
    const reactor = await new FakeReactor({ jobMs: 30, ...reactorOptions }).start();
    open.push(reactor);
    const h = startCoordinator({ REACTOR_CORE_API_URL: reactor.url, TRAINING_SLOT_TIMEOUT: '0.5', ...env }, { start: false, hostAvailableBytes: () => host * 1024 ** 3 });
    open.push(h);
    const reasons: string[] = [];
    const reserved: string[] = [];
    h.parts.runner.on('waiting', (_j, r) => reasons.push(r));
    h.parts.runner.on('reserved', (_j, s) => reserved.push(s));
    h.parts.worker.start();
    const { job } = await h.parts.queue.enqueue({ modelType: 'nlu', priority: 2, epochs: 3, source: 'manual' });
    return { reactor, h, job, reasons, reserved };
  };

  it("reserves the trainer's estimate by default: a 300 MB nlu job starts on a host with 0.5 GB available", async () => {
    const { reactor, h, job, reserved } = await run({ estimateBytes: 300 * 1024 ** 2 }, UNSET, 0.5);
    expect(await h.finished(job.jobId)).toMatchObject({ status: 'completed' });
    expect(reserved[0]).toMatch(/^63\.9 GB free ≥ 0\.3 GB needed \(nlu estimate\), host has 0\.5 GB available/);
    // Asked with the body the start then used, without the fencing token.
    expect(reactor.estimates[0]).toMatchObject({ job_id: job.jobId, model_type: 'nlu', epochs: 3 });
    expect(reactor.estimates[0]).not.toHaveProperty('fencing_token');
  });

  it('waits with both figures and the source when the host has less than the estimate', async () => {
    const { h, job, reasons } = await run({ estimateBytes: 600 * 1024 ** 2 }, UNSET, 0.4);
    const end = await h.finished(job.jobId, 800).catch(() => undefined);
    expect(end).toBeUndefined();
    expect(reasons[0]).toBe('waiting: host has 0.4 GB available < 0.6 GB needed (nlu estimate)');
  });

  it('TRAINING_MEMORY_RESERVE_GB, when set, overrides the estimate without asking for it', async () => {
    const { reactor, h, job, reasons } = await run({ estimateBytes: 300 * 1024 ** 2 }, { TRAINING_MEMORY_RESERVE_GB: '0.6' }, 0.4);
    await h.finished(job.jobId, 800).catch(() => undefined);
    expect(reasons[0]).toBe('waiting: host has 0.4 GB available < 0.6 GB needed (TRAINING_MEMORY_RESERVE_GB)');
    expect(reactor.estimates).toEqual([]);
  });

  it("reserves the design's 40 GB for a reactor that gives no estimate (404), and says so", async () => {
    const { h, job, reasons } = await run({}, UNSET, 22);
    await h.finished(job.jobId, 800).catch(() => undefined);
    expect(reasons[0]).toMatch(/^waiting: host has 22 GB available < 40 GB needed \(no nlu estimate \(Reactor-Core at http:\/\/127\.0\.0\.1:\d+ has no \/api\/training\/estimate\): the design's default\)$/);
  });
});

describe('with every memory setting at its default and a real reactor', () => {
  let reactor: ServiceProcess | undefined;
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
    await reactor?.kill('SIGKILL');
  });

  it("trains an nlu job on 3,000 experiences on this machine: the gate reserves the job's own estimate, not 40 GB", async () => {
    const home = tempHome('trinity-memory-default-');
    reactor = await startService('reactor', home, { LOG_LEVEL: 'warn' });
    const rows = readSnips('train').filter((_, i) => i % 4 === 0).slice(0, 3000);
    expect((await postJson(`${reactor.url}/api/experiences`, { experiences: snipsExperiences(rows) })).body).toMatchObject({ accepted: 3000 });
    // FAST_JARVIS_ENV sets TRAINING_MEMORY_RESERVE_GB for other tests; '' leaves it unset, as a user would.
    h = startCoordinator({ REACTOR_CORE_API_URL: reactor.url, ...UNSET, MAX_TOTAL_MEMORY_GB: '', TRAINING_SLOT_TIMEOUT: '20' }, { start: false });
    const reserved: string[] = [];
    const waiting: string[] = [];
    h.parts.runner.on('reserved', (_j, summary) => reserved.push(summary));
    h.parts.runner.on('waiting', (_j, reason) => waiting.push(reason));
    h.parts.worker.start();
    const { job } = await h.parts.queue.enqueue({ modelType: 'nlu', priority: 2, epochs: 2, source: 'manual' });
    expect(await h.finished(job.jobId, 60_000)).toMatchObject({ status: 'completed', modelVersion: 'v1.0.0' });
    expect(reserved[0]).toMatch(/ GB free ≥ 0\.\d GB needed \(nlu estimate\), host has [\d.]+ GB available/);
    expect(waiting.filter((r) => /GB needed/.test(r))).toEqual([]);
  }, 90_000);
});
