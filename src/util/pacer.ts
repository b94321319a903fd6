/** Long synchronous work in a server process, handed back to the event loop every few milliseconds. */
import { setImmediate as nextTurn } from 'node:timers/promises';

/** Call `tick()` after every item; it yields to the event loop once `yieldMs` of work has gone by. */
export class Pacer {
  #since = performance.now();

  constructor(private readonly yieldMs: number) {}

  async tick(): Promise<void> {
    if (performance.now() - this.#since < this.yieldMs) return;
    await nextTurn();
    this.#since = performance.now();
  }
}
