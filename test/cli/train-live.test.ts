import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, startService, tempHome, type ServiceProcess } from '../helpers/processes.js';
import { readSnips, snipsExperiences } from '../helpers/snips.js';

function run(args: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('trinity train against a running reactor', () => {
  let home: string;
  let reactor: ServiceProcess;
  beforeAll(async () => {
    home = tempHome();
    reactor = await startService('reactor', home);
  });
  afterAll(async () => {
    await reactor?.kill('SIGTERM');
  });

  it('trains from a JSONL file and prints every event as JSON, ending completed with exit 0', async () => {
    const file = join(home, 'data.jsonl');
    const rows = snipsExperiences(readSnips('train').filter((_, i) => i % 5 === 0));
    writeFileSync(file, rows.map((r) => JSON.stringify(r)).join('\n'));
    const r = await run(['train', 'nlu', '--epochs', '3', '--file', file, '--json', '--job-id', 'cli-1'], { JARVIS_HOME: home, REACTOR_CORE_API_URL: reactor.url });
    expect(r.code, r.stderr).toBe(0);
    const events = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { event: string; epoch?: number; model_version?: string });
    expect(events.filter((e) => e.event === 'status').map((e) => e.epoch)).toEqual([1, 2, 3]);
    expect(events.at(-1)).toMatchObject({ event: 'completed', model_version: 'v1.0.0' });

    const status = await run(['status', 'cli-1', '--json'], { JARVIS_HOME: home, REACTOR_CORE_API_URL: reactor.url });
    expect(status.code).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({ job_id: 'cli-1', status: 'completed', model_version: 'v1.0.0' });
  }, 120_000);

  it('says how to start the reactor when none is running, with a non-zero exit', async () => {
    const r = await run(['status', 'x'], { JARVIS_HOME: home, REACTOR_CORE_API_URL: 'http://127.0.0.1:9' });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/trinity reactor|trinity up/);
  });
});
