#!/usr/bin/env node
/**
 * Takes docs/img/dashboard.png from the real product: starts reactor, J-Prime and JARVIS on free ports
 * with a temporary JARVIS_HOME, trains two NLU versions on a SNIPS slice, rolls the second one out to part
 * of the traffic while J-Prime answers real predictions with honest feedback, lets JARVIS run a long
 * training job with a second one waiting behind it, and photographs the dashboard in Debian's chromium.
 *
 *   npm run build && node scripts/screenshot-dashboard.mjs [output.png]
 *
 * Needs /usr/bin/chromium (apt-get install chromium); reads data/nlu-snips. Not run by npm test.
 */
/* global document -- page.waitForFunction's callback runs in the browser */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { chromium } from 'playwright-core';

const ROOT = resolve(import.meta.dirname, '..');
const OUT = resolve(process.argv[2] ?? join(ROOT, 'docs/img/dashboard.png'));
const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
/** Epochs of the long job; it is photographed after LIVE_EPOCHS of them, then everything stops. */
const LONG_EPOCHS = 300;
const LIVE_EPOCHS = 24;

const { parseCsv } = await import(join(ROOT, 'dist/util/csv.js'));

function snips(split, every) {
  const rows = parseCsv(readFileSync(join(ROOT, 'data/nlu-snips', `${split}.csv`), 'utf8')).slice(1);
  return rows.filter((_, i) => i % every === 0).map(([text, intent]) => ({ text, intent }));
}

function freePort() {
  return new Promise((ok, fail) => {
    const srv = createServer().once('error', fail);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => ok(port));
    });
  });
}

async function waitFor(what, check, timeoutMs = 120_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check().catch(() => null);
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function call(url, body) {
  const res = await fetch(url, body === undefined ? {} : { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const json = await res.json();
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status} ${JSON.stringify(json)}`);
  return json;
}

const home = mkdtempSync(join(tmpdir(), 'trinity-screenshot-'));
const ports = { reactor: await freePort(), prime: await freePort(), jarvis: await freePort() };
const env = {
  ...process.env,
  JARVIS_HOME: home,
  LOG_LEVEL: 'warn',
  REACTOR_CORE_PORT: String(ports.reactor),
  JARVIS_PRIME_PORT: String(ports.prime),
  JARVIS_PORT: String(ports.jarvis),
  // A small machine still trains: the design's 40 GB reserve is for a workstation.
  TRAINING_MEMORY_RESERVE_GB: '0.5',
  RESOURCE_CHECK_INTERVAL: '1',
  AUTO_TRAINING_ENABLED: 'false',
  PRIME_RECONCILE_INTERVAL: '0.5',
};
const url = (svc, path) => `http://127.0.0.1:${ports[svc]}${path}`;
const children = [];

function start(service) {
  const proc = spawn(process.execPath, [join(ROOT, 'bin/trinity.js'), service, '--port', String(ports[service])], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  proc.stderr.on('data', (d) => (err = (err + d).slice(-4000)));
  proc.once('exit', (code) => code && console.error(`${service} exited with ${code}:\n${err}`));
  children.push(proc);
  const health = service === 'reactor' ? '/api/health' : '/health';
  return waitFor(`${service} healthy`, async () => (await fetch(url(service, health))).status === 200);
}

async function train(jobId, epochs) {
  await call(url('reactor', '/api/training/start'), { job_id: jobId, model_type: 'nlu', epochs });
  const job = await waitFor(`${jobId} finished`, async () => {
    const s = await call(url('reactor', `/api/training/status/${jobId}`));
    return ['completed', 'failed', 'cancelled'].includes(s.status) && s;
  });
  if (job.status !== 'completed') throw new Error(`${jobId} ${job.status}: ${job.error}`);
  return job.model_version;
}

try {
  await start('reactor');
  const train_rows = snips('train', 4);
  await call(url('reactor', '/api/experiences'), {
    experiences: train_rows.map((r, i) => ({ id: `snips-${i}`, type: 'command', input: { text: r.text }, expected_output: { intent: r.intent }, success: true })),
  });
  const v1 = await train('nlu-baseline', 4);
  const v2 = await train('nlu-more-epochs', 8);
  console.log(`trained ${v1} and ${v2}`);

  await start('prime');
  await waitFor('prime serving nlu', async () => (await call(url('prime', '/health'))).models?.nlu?.stable === v1);
  const dep = await call(url('reactor', '/api/models/deploy'), {
    model_type: 'nlu',
    model_version: v2,
    strategy: 'gradual_rollout',
    force: true,
    config: { rollout_steps: [25, 50, 75, 100], monitor_duration_seconds: 900, min_samples: 50, rollback_on_error_rate: 0.1 },
  });
  await waitFor('split applied', async () => (await call(url('prime', '/health'))).models?.nlu?.canary === v2);

  // Real traffic: each prediction is judged against the test set's label.
  for (const [i, row] of snips('test', 5).entries()) {
    const p = await call(url('prime', '/api/predict/nlu'), { input: { text: row.text }, session_id: `user-${i % 60}` });
    await call(url('prime', '/api/feedback'), { prediction_id: p.prediction_id, success: p.intent === row.intent });
  }
  await waitFor('samples counted', async () => (await call(url('reactor', `/api/models/deployments/${dep.deployment_id}`))).versions[v2].samples > 0);

  await start('jarvis');
  const long = await call(url('jarvis', '/api/training/trigger'), { model_type: 'nlu', epochs: LONG_EPOCHS });
  await call(url('jarvis', '/api/training/trigger'), { model_type: 'vision', epochs: 20 });
  await waitFor(`${LIVE_EPOCHS} epochs of ${long.job_id}`, async () => {
    const job = await call(url('jarvis', `/api/training/jobs/${long.job_id}`));
    return (job.progress?.epoch ?? 0) >= LIVE_EPOCHS;
  }, 300_000);

  const context = await chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), 'trinity-chromium-')), {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1440, height: 900 },
    deviceScaleFactor: 1,
  });
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    await page.goto(url('reactor', '/'));
    await page.waitForFunction(() => [...document.querySelectorAll('.job-card [data-chart="loss"]')].some((c) => Number(c.getAttribute('data-points')) > 10));
    await page.waitForSelector('#queue .queue-list li');
    await page.waitForSelector('.rollout-card');
    await page.waitForTimeout(2_500);
    mkdirSync(dirname(OUT), { recursive: true });
    await page.screenshot({ path: OUT, fullPage: true });
    console.log(`wrote ${OUT}`);
  } finally {
    await context.close();
  }
} finally {
  for (const proc of children.reverse()) {
    if (proc.exitCode !== null) continue;
    const exited = new Promise((r) => proc.once('exit', r));
    proc.kill('SIGTERM');
    await exited;
  }
  rmSync(home, { recursive: true, force: true });
}
