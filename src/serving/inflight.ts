/**
 * Requests in flight, from arrival until their response is finished or aborted. A response emits `close`
 * exactly once in either case (keep-alive included), so the count cannot drift; the listener is one
 * shared function, not a closure per request.
 */
import type { ServerResponse } from 'node:http';

export class InflightCounter {
  private count = 0;
  private readonly leave = (): void => {
    this.count--;
  };

  enter(res: ServerResponse): void {
    this.count++;
    // `on`, not `once`: the response is new per request and emits close once, and once() wraps the
    // listener in a closure per call.
    res.on('close', this.leave);
  }

  get active(): number {
    return this.count;
  }
}
