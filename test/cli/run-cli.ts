/** Runs the compiled `trinity` binary as a child process (asynchronously, so in-test servers keep answering). */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
export const BIN = fileURLToPath(new URL('../../bin/trinity.js', import.meta.url));

/** `npm test` builds first; when vitest is run alone and dist/ is missing, build it (type errors elsewhere do not block). */
export function ensureBuilt(): void {
  if (existsSync(new URL('../../dist/cli/main.js', import.meta.url))) return;
  execFileSync(process.execPath, [fileURLToPath(new URL('../../node_modules/typescript/bin/tsc', import.meta.url)), '-p', 'tsconfig.build.json', '--noCheck'], { cwd: root, stdio: 'inherit' });
}

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /** Environment on top of a minimal one (PATH, HOME, JARVIS_HOME); the test runner's own is not inherited. */
  env?: Record<string, string>;
  /** Called with stdout so far after each chunk, e.g. to send SIGINT at the right moment. */
  onStdout?: (soFar: string, child: ChildProcess) => void;
  timeoutMs?: number;
}

export function runCli(args: string[], home: string, opts: RunOptions = {}): Promise<CliResult> {
  const env = { PATH: process.env.PATH ?? '', HOME: home, JARVIS_HOME: home, ...opts.env };
  const child = spawn(process.execPath, [BIN, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (c: string) => {
    stdout += c;
    opts.onStdout?.(stdout, child);
  });
  child.stderr!.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 20_000);
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}
