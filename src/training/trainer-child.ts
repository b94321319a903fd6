/**
 * One trainer child process seen from the parent: fork, typed messages, stop with a deadline.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { compiledSibling } from '../util/compiled-entry.js';
import type { ChildMessage, ParentMessage, StopReason, TrainerJobSpec } from './trainer-protocol.js';

/** A cancel that the trainer does not honour within this time ends with SIGKILL (the contract allows 2 s). */
export const CANCEL_KILL_AFTER_MS = 1_500;
/** A shutdown lets the current epoch finish and checkpoint for at most this long. */
export const SHUTDOWN_KILL_AFTER_MS = 15_000;

export interface TrainerChildListener {
  message: (msg: ChildMessage) => void;
  exit: (code: number | null, signal: NodeJS.Signals | null) => void;
}

/** The compiled entry point (tests run this file from src/ through vitest; the child always runs dist/). */
export function trainerEntryPath(): string {
  return compiledSibling(import.meta.url, 'trainer-process.js');
}

export class TrainerChild extends EventEmitter {
  private readonly proc: ChildProcess;
  private exited = false;
  private readonly exitPromise: Promise<void>;

  constructor(spec: TrainerJobSpec) {
    super();
    this.proc = fork(trainerEntryPath(), [], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      execArgv: [],
      serialization: 'advanced',
    });
    this.exitPromise = new Promise((resolve) => {
      this.proc.once('exit', (code, signal) => {
        this.exited = true;
        this.emit('exit', code, signal);
        resolve();
      });
    });
    this.proc.on('message', (msg: ChildMessage) => {
      if (msg.type === 'ready') this.send({ cmd: 'start', job: spec });
      this.emit('message', msg);
    });
    // A failed IPC write only means the child is already gone; 'exit' reports that.
    this.proc.on('error', () => undefined);
  }

  override on<E extends keyof TrainerChildListener>(event: E, listener: TrainerChildListener[E]): this {
    return super.on(event, listener);
  }

  get pid(): number | undefined {
    return this.proc.pid;
  }

  get hasExited(): boolean {
    return this.exited;
  }

  /** Tells the trainer its runner is alive and still holds the job (TrainerJobSpec.keepaliveTimeoutMs). */
  keepalive(): void {
    this.send({ cmd: 'keepalive' });
  }

  private send(msg: ParentMessage): void {
    if (this.proc.connected) this.proc.send(msg);
  }

  /** Asks the trainer to stop and resolves once it has exited, killing it after the deadline. */
  async stop(reason: StopReason): Promise<void> {
    if (this.exited) return;
    this.send({ cmd: 'stop', reason });
    const deadline = reason === 'cancel' ? CANCEL_KILL_AFTER_MS : SHUTDOWN_KILL_AFTER_MS;
    const timer = setTimeout(() => this.kill(), deadline);
    await this.exitPromise;
    clearTimeout(timer);
  }

  kill(): void {
    if (!this.exited) this.proc.kill('SIGKILL');
  }

  waitForExit(): Promise<void> {
    return this.exitPromise;
  }
}
