/**
 * The demo's output: one line per step, `0:12  queued      …`, the time since the demo started on the
 * left so a reader sees how long each part of the loop takes. On a terminal a step can also be a live
 * line redrawn in place (training's epochs); in a pipe each update is its own line.
 */
import { println, type OutStream } from '../../context.js';

/** Step names are padded to this width so the texts line up. */
const LABEL_WIDTH = 12;
/** `12:34` fits; longer demos just push the line right. */
const ELAPSED_WIDTH = 5;

export function fmtElapsed(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

export class DemoReport {
  private liveOpen = false;

  constructor(
    private readonly out: OutStream,
    private readonly startedAt = Date.now(),
  ) {}

  /** True on a terminal, where `live` redraws one line in place. */
  get isLive(): boolean {
    return this.out.isTTY === true;
  }

  /** Width of the live progress bar, so the whole line fits the terminal (a wrapped line cannot be redrawn). */
  get barWidth(): number {
    // Some PTYs report 0 columns; treat that as unknown. The text around the bar takes ~70 characters.
    const columns = (this.out as OutStream).columns || 80;
    return Math.min(24, Math.max(4, columns - 72));
  }

  /** A line without time or label: headings and blank lines. */
  line(text = ''): void {
    this.closeLive();
    println(this.out, text);
  }

  step(label: string, text: string): void {
    this.closeLive();
    println(this.out, this.format(label, text));
  }

  /** Further lines of the step just printed, aligned under its text. */
  more(text: string): void {
    this.closeLive();
    println(this.out, ' '.repeat(ELAPSED_WIDTH + 2 + LABEL_WIDTH) + text);
  }

  /** A step that keeps changing: redrawn in place on a terminal, a new line each time elsewhere. */
  live(label: string, text: string): void {
    if (!this.isLive) return this.step(label, text);
    this.out.write(`\r\x1b[2K${this.format(label, text)}`);
    this.liveOpen = true;
  }

  /** Ends a live line so it stays on screen. */
  closeLive(): void {
    if (!this.liveOpen) return;
    this.out.write('\n');
    this.liveOpen = false;
  }

  private format(label: string, text: string): string {
    return `${fmtElapsed(Date.now() - this.startedAt).padStart(ELAPSED_WIDTH)}  ${label.padEnd(LABEL_WIDTH)}${text}`;
  }
}
