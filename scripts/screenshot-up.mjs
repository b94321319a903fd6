// Runs the real `trinity up` in a temporary home, waits for its startup summary, stops it, and renders
// the captured terminal output to docs/img/trinity-up.png in Debian's chromium. Not run by npm test.
// Usage: npm run build && node scripts/screenshot-up.mjs [out.png]
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { chromium } from 'playwright-core';

const ROOT = resolve(import.meta.dirname, '..');
const out = resolve(process.argv[2] ?? join(ROOT, 'docs/img/trinity-up.png'));
const home = mkdtempSync(join(tmpdir(), 'trinity-up-shot-'));
const up = spawn(process.execPath, [join(ROOT, 'bin/trinity.js'), 'up'], {
  env: { ...process.env, JARVIS_HOME: home, REACTOR_CORE_PORT: '0', JARVIS_PRIME_PORT: '0', JARVIS_PORT: '0', NO_COLOR: '1', LOG_LEVEL: 'warn' },
  stdio: ['ignore', 'pipe', 'pipe'],
});
let text = '';
up.stdout.on('data', (d) => (text += d));
up.stderr.on('data', (d) => (text += d));
await new Promise((ok, fail) => {
  const t = setTimeout(() => fail(new Error(`no summary in 120 s:\n${text}`)), 120_000);
  const check = setInterval(() => {
    if (text.includes('Running. Ctrl-C')) {
      clearInterval(check);
      clearTimeout(t);
      ok();
    }
  }, 200);
});
up.kill('SIGTERM');
await new Promise((r) => up.once('exit', r));
rmSync(home, { recursive: true, force: true });

const shown = text.slice(0, text.indexOf('Running.') > 0 ? text.indexOf('Running.') : undefined).replaceAll(home, '~/.jarvis');
const esc = (s) => s.replaceAll('&', '&amp;').replaceAll('<', '&lt;');
const html = `<html><body style="margin:0;background:#1e1e1e"><pre style="font:13px/1.35 'DejaVu Sans Mono','Liberation Mono',monospace;color:#ddd;padding:16px 20px;margin:0">$ trinity up\n${esc(shown)}</pre></body></html>`;
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const page = await browser.newPage({ viewport: { width: 900, height: 400 } });
await page.setContent(html);
mkdirSync(dirname(out), { recursive: true });
await page.screenshot({ path: out, fullPage: true });
await browser.close();
writeFileSync(out.replace(/\.png$/, '.txt'), shown);
console.log(`wrote ${out}`);
