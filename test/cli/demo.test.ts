/**
 * `trinity demo` without real training: its data rounds, its reading of JARVIS's waiting reasons, its
 * output, and how it stops — with the next step — when services are down, auto-training is off, a job
 * waits for memory the machine does not have, or a job fails. The whole loop with real services is
 * test/e2e/demo-defaults.test.ts.
 */
import { createServer, type Server } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { demoRounds, readDemoCsv, type DemoRow } from '../../src/cli/lib/demo/data.js';
import { hopelessWait } from '../../src/cli/lib/demo/hopeless-wait.js';
import { outOfScopeNote } from '../../src/cli/lib/demo/predictions.js';
import { DemoReport } from '../../src/cli/lib/demo/report.js';
import { describeSplit, refusalNote } from '../../src/cli/lib/demo/round.js';
import { freePort } from '../helpers/processes.js';
import { ensureBuilt, runCli } from './run-cli.js';

const INTENTS = ['AddToPlaylist', 'BookRestaurant', 'GetWeather', 'PlayMusic', 'RateBook', 'SearchCreativeWork', 'SearchScreeningEvent'];
/** Sorted by intent, as SNIPS's train.csv is. */
const sorted: DemoRow[] = INTENTS.flatMap((intent) => Array.from({ length: 200 }, (_, i) => ({ text: `${intent} example ${i}`, intent })));

describe('demo rounds', () => {
  it('cover every intent in each round although the file is sorted by intent, and repeat with the seed', () => {
    const rounds = demoRounds(sorted, { rounds: 3, perRound: 100, seed: 42, runId: 'a' });
    expect(rounds.map((r) => r.experiences.length)).toEqual([100, 100, 100]);
    for (const r of rounds) expect([...r.intents.keys()].sort()).toEqual(INTENTS);
    const texts = rounds.flatMap((r) => r.experiences.map((e) => (e.input as { text: string }).text));
    expect(new Set(texts).size).toBe(300);
    const again = demoRounds(sorted, { rounds: 3, perRound: 100, seed: 42, runId: 'b' });
    expect(again.map((r) => r.experiences.map((e) => e.input))).toEqual(rounds.map((r) => r.experiences.map((e) => e.input)));
    // Another run sends new experiences (new ids), which reactor does not drop as repeats.
    expect(again[0].experiences[0].id).not.toBe(rounds[0].experiences[0].id);
  });

  it('stop when the rows run out', () => {
    const rounds = demoRounds(sorted, { rounds: 5, perRound: 600, seed: 1, runId: 'x' });
    expect(rounds.map((r) => [r.from, r.to])).toEqual([
      [1, 600],
      [601, 1200],
      [1201, 1400],
    ]);
  });

  it('come from a CSV with text and intent columns, in either order', () => {
    const dir = mkdtempSync(join(tmpdir(), 'trinity-demo-csv-'));
    try {
      writeFileSync(join(dir, 'ok.csv'), 'intent,text\nPlayMusic,"play jazz, loud"\nGetWeather,rain?\n,empty intent\n');
      expect(readDemoCsv(join(dir, 'ok.csv'))).toEqual([
        { text: 'play jazz, loud', intent: 'PlayMusic' },
        { text: 'rain?', intent: 'GetWeather' },
      ]);
      writeFileSync(join(dir, 'bad.csv'), 'sentence,label\nhi,Greet\n');
      expect(() => readDemoCsv(join(dir, 'bad.csv'))).toThrow(/needs a header row with "text" and "intent"/);
      expect(() => readDemoCsv(join(dir, 'missing.csv'))).toThrow(/cannot read --csv .*ENOENT/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('a wait that cannot end', () => {
  it('is a memory reserve larger than the machine, or than MAX_TOTAL_MEMORY_GB', () => {
    const host = 'host has 22.1 GB available < 40 GB (TRAINING_MEMORY_RESERVE_GB)';
    expect(hopelessWait(host, { hostTotalGb: 23.4 })).toEqual({
      why: 'the job waits until the host has 40 GB of memory available (TRAINING_MEMORY_RESERVE_GB), but this machine has 23.4 GB in all, so it will never start',
      fix: 'lower TRAINING_MEMORY_RESERVE_GB below 23.4 and restart `npx trinity up`',
    });
    // The forms with the need's source: a setting, a trainer's estimate, the design's default.
    const withSource = (source: string) => `J-Prime has 1 active request; host has 22.1 GB available < 40 GB needed (${source})`;
    expect(hopelessWait(withSource('TRAINING_MEMORY_RESERVE_GB'), { hostTotalGb: 23.4 })?.fix).toBe('lower TRAINING_MEMORY_RESERVE_GB below 23.4 and restart `npx trinity up`');
    expect(hopelessWait(withSource('nlu estimate'), { hostTotalGb: 23.4 })?.fix).toBe('train on a machine with more memory, or send fewer experiences (--per-round)');
    const noEstimate = hopelessWait(withSource("no nlu estimate (Reactor-Core not reachable: ECONNREFUSED): the design's default"), { hostTotalGb: 23.4 });
    expect(noEstimate?.why).toContain("(no nlu estimate (Reactor-Core not reachable: ECONNREFUSED): the design's default)");
    expect(noEstimate?.fix).toBe('set TRAINING_MEMORY_RESERVE_GB below 23.4 and restart `npx trinity up`');
    expect(hopelessWait('host has 0.2 GB available < 0.4 GB needed (nlu estimate)', { hostTotalGb: 23.4 })).toBeNull();
    expect(hopelessWait(host, { hostTotalGb: 64 })).toBeNull();
    expect(hopelessWait(host, { hostTotalGb: null })).toBeNull();
    const budget = '5.1 GB free < 40 GB (MAX_TOTAL_MEMORY_GB 16 − J-Prime 0.1 − Reactor-Core 0.2)';
    expect(hopelessWait(budget, { hostTotalGb: 64 })?.why).toBe('the job waits for 40 GB of MAX_TOTAL_MEMORY_GB 16, so it will never start');
    expect(hopelessWait('5.1 GB free < 40 GB (MAX_TOTAL_MEMORY_GB 64 − J-Prime 38 − Reactor-Core 20.9)', { hostTotalGb: 64 })).toBeNull();
    expect(hopelessWait('5.1 GB free < 40 GB needed (TRAINING_MEMORY_RESERVE_GB): MAX_TOTAL_MEMORY_GB 16 − J-Prime 0.1 − Reactor-Core 0.2', { hostTotalGb: 64 })?.why).toBe(
      'the job waits for 40 GB of MAX_TOTAL_MEMORY_GB 16, so it will never start',
    );
  });

  it('is not a busy J-Prime, a running job or a held slot', () => {
    for (const reason of ['J-Prime has 3 active requests', 'Reactor-Core has 1 active training job', 'training_slot busy (1/1): held by x (job nlu-1), token 7, expires in 7190 s']) {
      expect(hopelessWait(reason, { hostTotalGb: 1 })).toBeNull();
    }
  });
});

describe('demo output', () => {
  it('says what J-Prime serves and what it did with small talk', () => {
    expect(describeSplit({ stable: 'v1.0.0', canary: null, canary_percentage: 0, deployment_id: null })).toBe('v1.0.0 for every request');
    expect(describeSplit({ stable: 'v1.0.0', canary: 'v1.0.1', canary_percentage: 10, deployment_id: 'd' })).toBe('v1.0.0 for 90 % of sessions, v1.0.1 for 10 %');
    expect(refusalNote(422, 'v1.0.2')).toMatch(/^the gate keeps out a version clearly worse than stable/);
    expect(refusalNote(409, 'v1.0.2')).toBe('one rollout per model type at a time; v1.0.2 stays registered: deploy it later with `npx trinity deploy nlu v1.0.2`');
    const answer = { model_version: 'v1.0.0', intent: 'GetWeather', confidence: 0.4 };
    expect(outOfScopeNote(answer, 7)).toMatch(/none of the 7 intents; nlu has no "none of these" answer yet/);
    expect(outOfScopeNote({ ...answer, in_scope: false }, 7)).toBe('J-Prime says this small talk is none of the 7 intents it knows');
    expect(outOfScopeNote({ ...answer, in_scope: true }, 7)).toBe('small talk is none of the 7 intents, but J-Prime took it as one of them');
  });

  it('redraws a live step in place on a terminal and prints each update in a pipe', () => {
    const sink = (isTTY: boolean) => {
      let text = '';
      return { isTTY, write: (s: string) => ((text += s), true), text: () => text } as unknown as NodeJS.WritableStream & { isTTY: boolean; text(): string };
    };
    const tty = sink(true);
    const onTty = new DemoReport(tty, Date.now());
    onTty.live('training', 'epoch 1/2');
    onTty.live('training', 'epoch 2/2');
    onTty.step('trained', 'v1.0.0');
    expect(tty.text()).toBe('\r\x1b[2K 0:00  training    epoch 1/2\r\x1b[2K 0:00  training    epoch 2/2\n 0:00  trained     v1.0.0\n');
    const pipe = sink(false);
    const inPipe = new DemoReport(pipe, Date.now());
    inPipe.live('training', 'epoch 1/2');
    inPipe.live('training', 'epoch 2/2');
    expect(pipe.text()).toBe(' 0:00  training    epoch 1/2\n 0:00  training    epoch 2/2\n');
  });
});

/**
 * One HTTP server playing JARVIS, Reactor-Core and J-Prime at once (their paths do not collide where
 * the demo is concerned): experiences posted raise reactor's count, and a job appears in `jobState`.
 */
async function fakeTrinity(o: { autoTraining?: boolean; job?: Record<string, unknown>; hostTotalGb?: number }): Promise<{ server: Server; url: string }> {
  let total = 0;
  let jobs: Record<string, unknown>[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
      const send = (v: unknown) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(v));
      const path = req.url ?? '';
      if (path === '/health' || path === '/api/health') {
        return send({ status: 'healthy', reactor: { url }, outbox: { pending: 0, files_written: total / 100, last_error: null }, auto_training: { enabled: o.autoTraining ?? true, last_check: null } });
      }
      if (path === '/api/resources') return send({ memory_total_gb: o.hostTotalGb ?? 64, memory_available_gb: 20 });
      if (path === '/api/experiences' && req.method === 'POST') {
        const n = (JSON.parse(body) as { experiences: unknown[] }).experiences.length;
        total += n;
        const job = { job_id: 'nlu-1', model_type: 'nlu', priority: 'HIGH', source: 'auto', status: 'queued', created_at: new Date().toISOString(), ...o.job };
        jobs = [job];
        return send({ accepted: n, rejected: [], pending: 0 });
      }
      if (path === '/api/experiences/stats') return send({ nlu: { total, new_since_last_training: total }, totals: { total } });
      if (path.startsWith('/api/training/jobs/')) return send(jobs[0]);
      if (path.startsWith('/api/training/jobs')) return send({ jobs });
      res.writeHead(404).end('{}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, url: `http://127.0.0.1:${(server.address() as { port: number }).port}` };
}

describe('trinity demo stops with the next step', () => {
  let home: string;
  let csv: string;
  let server: Server | undefined;
  beforeAll(() => {
    ensureBuilt();
    home = mkdtempSync(join(tmpdir(), 'trinity-demo-'));
    csv = join(home, 'small.csv');
    writeFileSync(csv, ['text,intent', ...sorted.map((r) => `${r.text},${r.intent}`)].join('\n'));
  });
  afterAll(() => rmSync(home, { recursive: true, force: true }));
  afterEach(async () => {
    await new Promise((r) => (server ? server.close(r) : r(undefined)));
    server = undefined;
  });

  const demo = (url: string, ...args: string[]) => runCli(['demo', '--csv', csv, '--jarvis-url', url, '--per-round', '200', ...args], home, { env: { JARVIS_PRIME_PORT: new URL(url).port } });

  it('when the services are not running', async () => {
    const r = await demo(`http://127.0.0.1:${await freePort()}`);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^trinity: JARVIS is not answering at http:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\) — start them with: npx trinity up\n$/);
  });

  it('when a round is smaller than MIN_EXPERIENCES_FOR_TRAINING', async () => {
    const r = await runCli(['demo', '--csv', csv, '--per-round', '50'], home);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--per-round 50 is below MIN_EXPERIENCES_FOR_TRAINING 100');
  });

  it('when JARVIS has auto-training off, before sending anything', async () => {
    const fake = await fakeTrinity({ autoTraining: false });
    server = fake.server;
    const r = await demo(fake.url);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('JARVIS runs with auto-training off (AUTO_TRAINING_ENABLED=false)');
    expect(r.stderr).toContain('restart `npx trinity up` without AUTO_TRAINING_ENABLED=false');
  });

  it('when the job waits for more memory than the machine has', async () => {
    const reason = 'waiting: host has 22.1 GB available < 40 GB (TRAINING_MEMORY_RESERVE_GB)';
    const fake = await fakeTrinity({ hostTotalGb: 23.4, job: { status: 'running', phase: 'waiting_for_resources', waiting_reason: reason } });
    server = fake.server;
    const r = await demo(fake.url);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/queued +training job nlu-1 \(JARVIS's auto-trigger, priority HIGH\)\n.*waiting +host has 22\.1 GB available < 40 GB \(TRAINING_MEMORY_RESERVE_GB\)\n$/);
    expect(r.stderr).toContain('this machine has 23.4 GB in all, so it will never start — lower TRAINING_MEMORY_RESERVE_GB below 23.4');
  });

  it('when the job fails, with its error', async () => {
    const fake = await fakeTrinity({ job: { status: 'failed', error: 'Reactor-Core refused the job: no trainer for nlu' } });
    server = fake.server;
    const r = await demo(fake.url);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("JARVIS's job nlu-1 failed: Reactor-Core refused the job: no trainer for nlu");
  });
});
