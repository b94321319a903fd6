import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FakeReactor, type FakeReactorOptions } from '../client/fake-reactor.js';
import { ensureBuilt, runCli } from './run-cli.js';

let home: string;
let fake: FakeReactor | undefined;
beforeAll(() => {
  ensureBuilt();
  home = mkdtempSync(join(tmpdir(), 'trinity-cli-'));
});
afterAll(() => rmSync(home, { recursive: true, force: true }));
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

async function reactor(opts: FakeReactorOptions = {}): Promise<FakeReactor> {
  fake = await new FakeReactor(opts).start();
  return fake;
}

const jsonLines = (s: string) => s.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);

describe('trinity CLI', () => {
  it('--help lists every command with a one-line description', async () => {
    const r = await runCli(['--help'], home);
    expect(r.code).toBe(0);
    for (const cmd of ['train', 'status', 'jobs', 'cancel', 'config']) expect(r.stdout).toMatch(new RegExp(`^  ${cmd}\\b.*\\S+`, 'm'));
  });

  it('worker --help names its port and pool options and where to read more; a bad pool exits 2', async () => {
    const r = await runCli(['worker', '--help'], home);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/--port <port>.*8091/s);
    expect(r.stdout).toMatch(/--pool <pool>.*"local", "cloud", "gpu"/s);
    expect(r.stdout).toContain('TRAINING_WORKERS=external');
    expect(r.stdout).toContain('docs/workers.md');
    const bad = await runCli(['config'], home, { env: { TRINITY_WORKER_POOL: 'moon' } });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('TRINITY_WORKER_POOL');
  });

  it('config prints aligned KEY value lines with the token masked, or JSON', async () => {
    const r = await runCli(['config'], home, { env: { TRINITY_API_TOKEN: 'hunter2', REACTOR_CORE_PORT: '9191' } });
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    const col = lines[0].search(/\S+$/);
    expect(lines.every((l) => l.search(/ {2}\S/) + 2 <= col)).toBe(true);
    expect(r.stdout).toMatch(new RegExp(`^home +${home.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm'));
    expect(r.stdout).toMatch(/^reactor\.url +http:\/\/127\.0\.0\.1:9191$/m);
    expect(r.stdout).not.toContain('hunter2');
    const j = await runCli(['config', '--json'], home, { env: { TRINITY_API_TOKEN: 'hunter2' } });
    const parsed = JSON.parse(j.stdout) as { home: string; apiToken: string; reactor: { port: number }; databaseUrl: null };
    expect(parsed).toMatchObject({ home, apiToken: '********', reactor: { port: 8090 }, databaseUrl: null });
  });

  it('config with a bad env value names the variable and exits 2', async () => {
    const r = await runCli(['config'], home, { env: { REACTOR_CORE_PORT: 'abc' } });
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('REACTOR_CORE_PORT');
    expect(r.stderr).toContain('expected a port');
  });

  it('train --json prints each event as one JSON line and exits 0 when the job completes', async () => {
    const f = await reactor({ token: 'tok' });
    const r = await runCli(['train', 'nlu', '--epochs', '3', '--batch-size', '16', '--learning-rate', '0.01', '--json', '--url', f.url], home, { env: { TRINITY_API_TOKEN: 'tok' } });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const events = jsonLines(r.stdout);
    expect(events.map((e) => e.id)).toEqual(f.jobs.get('job-1')!.events.map((e) => e.id));
    expect(events[0]).toMatchObject({ event: 'queued', job_id: 'job-1' });
    expect(events.filter((e) => e.event === 'status').map((e) => e.epoch)).toEqual([1, 2, 3]);
    expect(events.at(-1)).toMatchObject({ event: 'completed', model_version: 'v1.0.1', metrics: { accuracy: 0.95 } });
    const start = f.requests.find((q) => q.path === '/api/training/start')!;
    expect(start.headers.authorization).toBe('Bearer tok');
    expect(start.body).toEqual({ model_type: 'nlu', epochs: 3, config: { batch_size: 16, learning_rate: 0.01 } });
  });

  it('train --json exits 1 when the job fails, and still reconnects through a dropped stream', async () => {
    const f = await reactor({ terminal: 'failed', stream: { dropAfter: [2], cutEventOnDrop: true } });
    const r = await runCli(['train', 'voice', '--json', '--url', f.url], home);
    expect(r.code).toBe(1);
    const events = jsonLines(r.stdout);
    expect(events.map((e) => e.id)).toEqual(f.jobs.get('job-1')!.events.map((e) => e.id));
    expect(events.at(-1)).toMatchObject({ event: 'failed', error: 'trainer process exited (out of memory)' });
    expect(r.stderr).toContain('reconnecting');
  });

  it('train --file sends the experiences and, without a TTY, prints one plain line per event and a summary', async () => {
    const f = await reactor();
    const file = join(home, 'data.jsonl');
    writeFileSync(file, '{"type":"command","input":{"text":"lights on"},"expected_output":{"intent":"lights"}}\n\n{"type":"command","input":{"text":"stop"},"expected_output":{"intent":"stop"}}\n');
    const r = await runCli(['train', 'nlu', '--file', file, '--epochs', '4', '--job-id', 'mine', '--url', f.url], home);
    expect(r.code).toBe(0);
    expect((f.requests.find((q) => q.path === '/api/training/start')!.body as { experiences: unknown[] }).experiences).toHaveLength(2);
    const out = r.stdout.trim().split('\n');
    expect(out[0]).toBe('job mine started (nlu): training started');
    expect(out).toContain('queued (position 0)');
    expect(out.find((l) => l.startsWith('epoch 4/4'))).toMatch(/^epoch 4\/4 {2}loss 0\.2000 {2}acc \d\.\d{4} {2}val_loss 0\.2500 {2}val_acc \d\.\d{4} {2}1000 samples\/s {2}ETA 0s$/);
    expect(out).toContain('checkpoint at epoch 2: /ckpt/mine/epoch-2');
    expect(out.slice(-2)).toEqual(['completed: nlu v1.0.1', '  loss 0.1000  acc 0.9500  val_loss 0.1200  val_acc 0.9300']);
  });

  it('train reports a bad --file or option value and exits 2 without calling the reactor', async () => {
    const f = await reactor();
    const missing = await runCli(['train', 'nlu', '--file', join(home, 'nope.jsonl'), '--url', f.url], home);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('cannot read --file');
    const epochs = await runCli(['train', 'nlu', '--epochs', '0', '--url', f.url], home);
    expect(epochs.code).toBe(2);
    expect(epochs.stderr).toContain("option '--epochs <n>' argument '0' is invalid");
    expect(f.requests).toHaveLength(0);
  });

  it("train passes on the reactor's 400 for an unknown model type and exits 2", async () => {
    const f = await reactor();
    const r = await runCli(['train', 'tarot', '--url', f.url], home);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('reactor answered 400: unknown model_type "tarot"');
  });

  it('says how to start the reactor when it is not reachable', async () => {
    const f = await reactor();
    const url = f.url;
    await f.close();
    const r = await runCli(['jobs', '--url', url], home);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`reactor is not reachable at ${url}`);
    expect(r.stderr).toContain('start it with `trinity reactor` or `trinity up`');
  });

  it('Ctrl-C stops following without cancelling and prints how to resume or cancel', async () => {
    const f = await reactor({ stream: { eventDelayMs: 200 } });
    let sent = false;
    const r = await runCli(['train', 'nlu', '--epochs', '50', '--url', f.url], home, {
      onStdout: (out, child) => {
        if (!sent && /^epoch 1\/50/m.test(out)) {
          sent = true;
          child.kill('SIGINT');
        }
      },
    });
    expect(r.code).toBe(130);
    expect(r.stderr).toContain('stopped following job job-1; it keeps running');
    expect(r.stderr).toContain(`trinity status job-1 --follow --url ${f.url}`);
    expect(r.stderr).toContain(`trinity cancel job-1 --url ${f.url}`);
    expect(f.requests.some((q) => q.path.startsWith('/api/training/cancel'))).toBe(false);
  });

  it('status, status --follow --json, jobs and cancel talk to the reactor', async () => {
    const f = await reactor();
    f.addJob('j-1', 2, 'completed', 'vision');
    f.addJob('j-2', 2, 'cancelled', 'voice');
    const status = await runCli(['status', 'j-1', '--url', f.url], home);
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(/^job {2,}j-1$/m);
    expect(status.stdout).toMatch(/^model type +vision$/m);
    const follow = await runCli(['status', 'j-2', '--follow', '--json', '--url', f.url], home);
    expect(follow.code).toBe(1);
    expect(jsonLines(follow.stdout).at(-1)).toMatchObject({ event: 'cancelled' });
    const jobs = await runCli(['jobs', '--status', 'completed', '--url', f.url], home);
    expect(jobs.code).toBe(0);
    expect(jobs.stdout.split('\n')[0]).toMatch(/^JOB +MODEL +STATUS +EPOCH +ACCURACY +VERSION +STARTED$/);
    expect(jobs.stdout).toMatch(/^j-1 +vision +completed +2\/2 +\S+ +v1\.0\.1 /m);
    expect(jobs.stdout).not.toContain('j-2');
    const badStatus = await runCli(['jobs', '--status', 'done', '--url', f.url], home);
    expect(badStatus.code).toBe(2);
    const cancel = await runCli(['cancel', 'j-1', '--url', f.url], home);
    expect(cancel.code).toBe(0);
    expect(cancel.stdout.trim()).toBe('job j-1 cancelled: cancel requested');
    const missing = await runCli(['status', 'ghost', '--url', f.url], home);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('list recent jobs with `trinity jobs`');
  });
});
