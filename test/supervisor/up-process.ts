/**
 * `trinity up` as a real process for end-to-end tests: its output, the summary rows it prints, and a
 * /proc scan for anything still running with the test's JARVIS_HOME in its environment.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { BIN, waitFor } from '../helpers/processes.js';

export interface UpProcess {
  proc: ChildProcess;
  /** The JARVIS_HOME it runs with. */
  home: string;
  output(): string;
  /** Resolves once the output matches `re`; fails early when up exits first. */
  waitForOutput(re: RegExp, timeoutMs: number): Promise<RegExpExecArray>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stop(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export interface SummaryRow {
  title: string;
  pid: number | null;
  port: number | null;
  mode: string;
  status: string;
}

/**
 * Ports 0 everywhere and a short start period; the caller's env wins, and an `undefined` in it removes
 * the variable. `base` is the environment to start from (default: the test runner's).
 */
export function startUp(home: string, env: Record<string, string | undefined> = {}, args: string[] = [], base: NodeJS.ProcessEnv = process.env): UpProcess {
  const merged: NodeJS.ProcessEnv = {
    ...base,
    JARVIS_HOME: home,
    REACTOR_CORE_PORT: '0',
    JARVIS_PRIME_PORT: '0',
    JARVIS_PORT: '0',
    // A loaded two-core runner starts services more slowly than a laptop.
    TRINITY_UP_TIMEOUT_SCALE: '2',
    NO_COLOR: '1',
    ...env,
  };
  for (const [k, v] of Object.entries(merged)) if (v === undefined) delete merged[k];
  const proc = spawn(process.execPath, [BIN, 'up', ...args], { env: merged, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.once('exit', (code, signal) => resolve({ code, signal })),
  );
  let done = false;
  void exited.then(() => (done = true));
  return {
    proc,
    home,
    output: () => out,
    exited,
    async waitForOutput(re, timeoutMs) {
      return waitFor(
        () => {
          const m = re.exec(out);
          if (m) return m;
          if (done) throw new Error(`trinity up exited before printing ${re}:\n${out}`);
          return null;
        },
        timeoutMs,
        `${re} in trinity up's output:\n${out}`,
      );
    },
    async stop(signal = 'SIGTERM') {
      if (!done) proc.kill(signal);
      return exited;
    },
  };
}

const ROW = /^ {2}(Reactor-Core|Worker \d+|J-Prime|JARVIS)\s+(\d+|-)\s+(\d+|-)\s+(started|adopted|external|disabled)\s+\S+(?: s)?\s+\S+(?: MB)?\s+(\S+)$/gm;

export function summaryRows(output: string): Map<string, SummaryRow> {
  const rows = new Map<string, SummaryRow>();
  for (const m of output.matchAll(ROW)) {
    rows.set(m[1], { title: m[1], pid: m[2] === '-' ? null : Number(m[2]), port: m[3] === '-' ? null : Number(m[3]), mode: m[4], status: m[5] });
  }
  return rows;
}

/**
 * SIGKILLs `up` and every process left with its home: after a failed assertion, `up` killed with SIGKILL
 * cannot stop its services, and they must not outlive the test.
 */
export async function killUpAndServices(up: UpProcess): Promise<void> {
  if (up.proc.exitCode === null && up.proc.signalCode === null) await up.stop('SIGKILL');
  for (const pid of processesWithHome(up.home)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // exited meanwhile
    }
  }
}

/** Pids of live processes whose environment says JARVIS_HOME=<home> (zombies excluded). */
export function processesWithHome(home: string): number[] {
  const needle = `JARVIS_HOME=${home}\0`;
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const env = readFileSync(`/proc/${name}/environ`, 'utf8') + '\0';
      if (!env.includes(needle)) continue;
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      if (stat.slice(stat.lastIndexOf(')') + 2)[0] === 'Z') continue;
      out.push(Number(name));
    } catch {
      // gone, or not ours to read
    }
  }
  return out;
}

/** Whether `pid` still runs: a zombie (exited, not yet reaped by whoever adopted it) counts as gone. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    // The state follows the parenthesised command name: "123 (node) Z ...".
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}
