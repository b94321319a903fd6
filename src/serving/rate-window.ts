/**
 * Counts events over the last minute in one-second buckets: O(1) per event and per read, no timestamps
 * kept per request.
 */
const WINDOW_SECONDS = 60;

export class RateWindow {
  private readonly buckets = new Uint32Array(WINDOW_SECONDS);
  /** The second (since the epoch) the newest bucket belongs to. */
  private second = 0;

  constructor(private readonly now: () => number = Date.now) {}

  private advance(): number {
    const sec = Math.floor(this.now() / 1000);
    const gap = sec - this.second;
    if (gap > 0) {
      if (gap >= WINDOW_SECONDS) this.buckets.fill(0);
      else for (let s = this.second + 1; s <= sec; s++) this.buckets[s % WINDOW_SECONDS] = 0;
      this.second = sec;
    }
    return sec;
  }

  hit(): void {
    this.buckets[this.advance() % WINDOW_SECONDS]++;
  }

  /** Events in the last 60 seconds, the current one included. */
  total(): number {
    this.advance();
    let sum = 0;
    for (let i = 0; i < WINDOW_SECONDS; i++) sum += this.buckets[i];
    return sum;
  }
}
