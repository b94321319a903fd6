/**
 * Where a followed job's events go, in one of three forms:
 *  - tty: a live bar redrawn in place, with checkpoint and notice lines printed above it;
 *  - plain: one line per event, for logs and pipes;
 *  - json: each event as one JSON line on stdout (the reactor's NDJSON form), notices on stderr.
 */
import { MultiBar, type SingleBar } from 'cli-progress';
import { jobEventToNdjson, type JobEvent, type TerminalJobEvent, type TrainingStartResponse } from '../../client/index.js';
import { println, type CliIo, type OutStream } from '../context.js';
import { formatEventLine, formatSummary } from './format-job.js';
import { formatProgressLine, type ProgressState } from './progress-line.js';

export type OutputMode = 'json' | 'plain' | 'tty';

export interface JobOutput {
  /** The reactor accepted the start request. */
  started(res: TrainingStartResponse): void;
  /** One stream event, terminal ones included. */
  event(e: JobEvent): void;
  /** Something about the connection, not the job ("reconnecting…"). */
  notice(text: string): void;
  /** The job ended; prints the summary. */
  finished(t: TerminalJobEvent): void;
  /** Following stopped by Ctrl-C; `lines` say how to resume or cancel. */
  interrupted(lines: readonly string[]): void;
  /** Restores the terminal; safe to call more than once. */
  close(): void;
}

export function chooseMode(json: boolean, stdout: OutStream): OutputMode {
  if (json) return 'json';
  return stdout.isTTY === true ? 'tty' : 'plain';
}

export function createJobOutput(mode: OutputMode, io: CliIo, modelType?: string): JobOutput {
  if (mode === 'json') return new JsonOutput(io);
  if (mode === 'plain') return new PlainOutput(io, modelType);
  return new TtyOutput(io, modelType);
}

class JsonOutput implements JobOutput {
  constructor(private readonly io: CliIo) {}
  started(): void {}
  event(e: JobEvent): void {
    println(this.io.stdout, JSON.stringify(jobEventToNdjson(e)));
  }
  notice(text: string): void {
    println(this.io.stderr, text);
  }
  // The terminal event, already printed as JSON, is the summary.
  finished(): void {}
  interrupted(lines: readonly string[]): void {
    for (const l of lines) println(this.io.stderr, l);
  }
  close(): void {}
}

class PlainOutput implements JobOutput {
  constructor(
    private readonly io: CliIo,
    private readonly modelType: string | undefined,
  ) {}
  started(res: TrainingStartResponse): void {
    println(this.io.stdout, `job ${res.job_id} ${res.status}${this.modelType ? ` (${this.modelType})` : ''}${res.message ? `: ${res.message}` : ''}`);
  }
  event(e: JobEvent): void {
    // Terminal events are printed by `finished` as the summary.
    if (e.event === 'completed' || e.event === 'failed' || e.event === 'cancelled') return;
    println(this.io.stdout, formatEventLine(e));
  }
  notice(text: string): void {
    println(this.io.stderr, text);
  }
  finished(t: TerminalJobEvent): void {
    for (const l of formatSummary(t, this.modelType)) println(this.io.stdout, l);
  }
  interrupted(lines: readonly string[]): void {
    for (const l of lines) println(this.io.stderr, l);
  }
  close(): void {}
}

/** Redraws at most this often; epochs are seconds apart, so more would only cost CPU. */
const BAR_FPS = 10;

class TtyOutput extends PlainOutput {
  private multibar: MultiBar | undefined;
  private bar: SingleBar | undefined;
  private state: ProgressState = { epoch: 0, totalEpochs: 0 };

  constructor(
    private readonly tty: CliIo,
    modelType: string | undefined,
  ) {
    super(tty, modelType);
  }

  override event(e: JobEvent): void {
    if (e.event === 'status') {
      const d = e.data;
      this.state = {
        epoch: d.epoch ?? this.state.epoch,
        totalEpochs: d.total_epochs ?? this.state.totalEpochs,
        loss: d.loss,
        accuracy: d.accuracy,
        valAccuracy: d.val_accuracy,
        etaSeconds: d.eta_seconds,
      };
      this.ensureBar();
      if (this.bar!.getTotal() !== this.state.totalEpochs) this.bar!.setTotal(this.state.totalEpochs);
      this.bar!.update(this.state.epoch);
      return;
    }
    if (e.event === 'completed' || e.event === 'failed' || e.event === 'cancelled') return;
    this.line(formatEventLine(e));
  }

  override notice(text: string): void {
    this.line(text);
  }

  override finished(t: TerminalJobEvent): void {
    this.close();
    super.finished(t);
  }

  override interrupted(lines: readonly string[]): void {
    this.close();
    super.interrupted(lines);
  }

  override close(): void {
    if (!this.multibar) return;
    // Logged lines are only written on the next redraw; draw once so none is lost, then stop.
    this.multibar.update();
    this.multibar.stop();
    this.multibar = undefined;
    this.bar = undefined;
  }

  /** A line above the bar while it is live, else a plain line. */
  private line(text: string): void {
    if (this.multibar) this.multibar.log(text + '\n');
    else println(this.tty.stdout, text);
  }

  private ensureBar(): void {
    if (this.bar) return;
    // Some PTYs report 0 columns; treat that as unknown.
    const columns = this.tty.stdout.columns || 80;
    // The text around the bar is ~55 characters; give the bar what is left, within reason.
    const width = Math.min(30, Math.max(10, columns - 60));
    this.multibar = new MultiBar({
      format: () => formatProgressLine(this.state, width),
      stream: this.tty.stdout,
      fps: BAR_FPS,
      hideCursor: true,
      clearOnComplete: false,
      // A logged line erases the bar; without this it is only redrawn once its text changes.
      forceRedraw: true,
      // We handle SIGINT ourselves (stop following, print how to resume); the bar must not exit for us.
      gracefulExit: false,
    });
    this.bar = this.multibar.create(this.state.totalEpochs, this.state.epoch);
  }
}
