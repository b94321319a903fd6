/**
 * One launched service process: `node bin/trinity.js <service> --port N`, its output as lines, the port
 * it reports, and a stop that leaves nothing behind. The child gets its own process group (detached) so
 * a Ctrl-C in the terminal reaches only the supervisor, which then stops the children in order; a
 * service receiving SIGINT from the terminal and SIGTERM from us would take the second signal as
 * "exit now" and skip its clean close. If the supervisor itself dies, the service notices through its
 * IPC channel and stops cleanly rather than running on with nobody reading its output.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { TypedEmitter } from './emitter.js';
import { descendantsOf, groupMembers, hasEnded, isSameProcess, type ProcStat } from './proc-info.js';
import { serviceCommand, type ChildExit, type ChildStream, type ServiceName } from './types.js';

/** Lines of output kept for a failure report. */
export const LAST_LINES_KEPT = 20;
/** After the service itself is gone, its trainers get this long to notice (they exit on IPC disconnect). */
export const ORPHAN_GRACE_MS = 3_000;
/** When the child exits, lines still in its pipes are usually read within this time. */
const OUTPUT_DRAIN_MS = 500;

const LISTENING = /listening on port (\d+)/;

export interface ServiceProcessListener {
  line: (line: string, stream: ChildStream) => void;
}

export interface ServiceProcessOptions {
  name: ServiceName;
  /** The Node binary (process.execPath). */
  execPath: string;
  /** bin/trinity.js. */
  binPath: string;
  /** Port to pass as --port; 0 lets the service pick one. */
  port: number;
  /** The child's whole environment. */
  env: Record<string, string | undefined>;
}

export class ServiceProcess extends TypedEmitter<ServiceProcessListener> {
  readonly name: ServiceName;
  readonly proc: ChildProcess;
  /** Resolves on exit, whatever the reason (including a failed spawn). */
  readonly exited: Promise<ChildExit>;
  /** Resolves with the port from the child's "listening on port N" line; stays pending if it never comes. */
  readonly listening: Promise<number>;
  private readonly lines: string[] = [];
  private readonly outputClosed: Promise<void>;
  private exit: ChildExit | null = null;
  private stopping: Promise<ChildExit> | null = null;
  private snapshot: ProcStat[] = [];

  constructor(opts: ServiceProcessOptions) {
    super();
    this.name = opts.name;
    this.proc = spawn(opts.execPath, [opts.binPath, serviceCommand(opts.name), '--port', String(opts.port)], {
      env: opts.env,
      // The IPC channel tells the service when we die: it then stops itself (see cli/lib/run-service.ts).
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      detached: true,
    });
    let onPort: (port: number) => void = () => undefined;
    this.listening = new Promise<number>((resolve) => (onPort = resolve));
    const closes = (['stdout', 'stderr'] as const).map((stream) => {
      const rl = createInterface({ input: this.proc[stream]!, crlfDelay: Infinity });
      rl.on('line', (line) => {
        this.keep(line);
        const m = stream === 'stderr' ? LISTENING.exec(line) : null;
        if (m) onPort(Number(m[1]));
        this.emit('line', line, stream);
      });
      return new Promise<void>((resolve) => rl.once('close', resolve));
    });
    this.outputClosed = Promise.all(closes).then(() => undefined);
    this.exited = new Promise<ChildExit>((resolve) => {
      const done = (e: ChildExit) => {
        this.exit ??= e;
        resolve(this.exit);
      };
      this.proc.once('exit', (code, signal) => done({ pid: this.pid, code, signal }));
      this.proc.once('error', (err) => {
        // spawn itself failed (no such binary, too many processes): there will be no 'exit'.
        this.keep(`could not start: ${err.message}`);
        if (this.proc.pid === undefined) done({ pid: 0, code: null, signal: null });
      });
    });
  }

  get pid(): number {
    return this.proc.pid ?? 0;
  }

  /** True once the process has exited. */
  get hasExited(): boolean {
    return this.exit !== null;
  }

  /** True once stop() was called: its exit is then expected, not a crash. */
  get stopRequested(): boolean {
    return this.stopping !== null;
  }

  /** The last output lines, oldest first; waits briefly for lines still in the pipes once it has exited. */
  async lastLines(): Promise<string[]> {
    if (this.hasExited) await Promise.race([this.outputClosed, sleep(OUTPUT_DRAIN_MS, false)]);
    return [...this.lines];
  }

  private keep(line: string): void {
    this.lines.push(line);
    if (this.lines.length > LAST_LINES_KEPT) this.lines.shift();
  }

  /**
   * SIGTERM, up to `graceMs` for a clean close (reactor checkpoints running jobs), then SIGKILL to the
   * whole group; finally anything it forked that outlived it. Safe to call twice: same promise.
   */
  stop(graceMs: number): Promise<ChildExit> {
    this.stopping ??= (async () => {
      if (!this.hasExited && this.pid > 0) {
        this.snapshot = descendantsOf(this.pid);
        signal(this.pid, 'SIGTERM');
        // A pending 20 s timer would keep the supervisor alive after everything has stopped: clear it.
        let timer: NodeJS.Timeout | undefined;
        const grace = new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), graceMs)));
        const exit = await Promise.race([this.exited, grace]);
        clearTimeout(timer);
        if (exit === null) this.killGroup();
      }
      const exit = await this.exited;
      await this.sweep();
      return exit;
    })();
    return this.stopping;
  }

  /** SIGKILL to the child and its group now (a second Ctrl-C). */
  killGroup(): void {
    if (this.pid <= 0) return;
    signal(-this.pid, 'SIGKILL');
    signal(this.pid, 'SIGKILL');
  }

  /**
   * Kills what the service left behind after it exited: members of its process group and the
   * descendants seen before stop, each checked by start time so a reused pid is never touched.
   */
  async sweep(): Promise<void> {
    if (this.pid <= 0) return;
    const leftovers = () => {
      const group = groupMembers(this.pid).filter((s) => s.pid !== this.pid || !this.hasExited);
      const known = this.snapshot.filter((s) => isSameProcess(s) && !group.some((g) => g.pid === s.pid));
      return [...group, ...known].filter((s) => !hasEnded(s.pid));
    };
    const deadline = Date.now() + ORPHAN_GRACE_MS;
    while (leftovers().length > 0 && Date.now() < deadline) await sleep(100);
    for (const s of leftovers()) signal(s.pid, 'SIGKILL');
  }
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone (ESRCH), or never ours
  }
}

/** `ref: false` for waits that must not keep the process alive on their own. */
function sleep(ms: number, ref = true): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    if (!ref) t.unref();
  });
}
