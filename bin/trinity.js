#!/usr/bin/env node
// The CLI is compiled to dist/ by `npm install` (the prepare script) or `npm run build`.
// Trinity needs Node.js >= 22.12. `npm install` brings Node 24 into node_modules (an optional dependency
// per platform); when this file is started by an older system Node, it hands over to that one.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const MIN = [22, 12];
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < MIN[0] || (major === MIN[0] && minor < MIN[1])) {
  const pinned = fileURLToPath(new URL(`../node_modules/.bin/node${process.platform === 'win32' ? '.cmd' : ''}`, import.meta.url));
  if (!existsSync(pinned)) {
    console.error(
      `trinity: Node.js ${process.versions.node} is too old (needs >= ${MIN.join('.')}), and no newer Node is installed in node_modules.\n` +
        'Run `npm install` in the project folder (it installs Node 24 for this platform), or install Node.js 24 LTS.',
    );
    process.exit(1);
  }
  // A child with the same stdio that ends this process as it ends. SIGTERM and SIGHUP sent to this process
  // are passed on; Ctrl-C already reaches the child through the terminal's process group, so a second copy
  // of SIGINT (which `trinity up` would read as "force quit") is not sent.
  const child = spawn(pinned, [fileURLToPath(import.meta.url), ...process.argv.slice(2)], { stdio: 'inherit' });
  for (const signal of ['SIGTERM', 'SIGHUP']) process.on(signal, () => child.kill(signal));
  process.on('SIGINT', () => {});
  child.on('error', (err) => {
    console.error(`trinity: could not start ${pinned}: ${err.message}`);
    process.exit(1);
  });
  child.on('exit', (code, signal) => {
    if (signal) {
      process.removeAllListeners(signal);
      process.kill(process.pid, signal);
    }
    process.exit(code ?? 1);
  });
} else {
  await startCli();
}

async function startCli() {
  const entry = new URL('../dist/cli/main.js', import.meta.url);
  if (!existsSync(fileURLToPath(entry))) {
    console.error('trinity: dist/ is missing. Run `npm install` (or `npm run build`) in the project folder first.');
    process.exit(1);
  }
  await import(entry.href);
}
