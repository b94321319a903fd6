/**
 * A service's cross_repo/<service>_state.json, rewritten atomically on a timer and on demand. Writes are
 * serialised so two never interleave, and a failed write is retried by the next one rather than thrown.
 */
import { writeFileAtomic } from './fs.js';

export class StateFileHeartbeat {
  private timer: NodeJS.Timeout | null = null;
  private writing: Promise<void> = Promise.resolve();

  constructor(
    private readonly path: string,
    private readonly snapshot: () => Record<string, unknown> | Promise<Record<string, unknown>>,
  ) {}

  /** Rewrites the file now. */
  write(): Promise<void> {
    this.writing = this.writing.then(async () => writeFileAtomic(this.path, JSON.stringify(await this.snapshot(), null, 2) + '\n')).catch(() => undefined);
    return this.writing;
  }

  start(intervalMs: number): void {
    void this.write();
    this.timer = setInterval(() => void this.write(), intervalMs);
    this.timer.unref();
  }

  /** Stops the timer and waits for the write in progress. Safe to call twice. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.writing;
  }
}
