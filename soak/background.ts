/**
 * Traffic that keeps flowing while services are killed and restarted: experiences to jarvis and reactor,
 * predictions with feedback to prime. Every loop stops on `stop()`, at its deadline, or after its count.
 */
import { sleep } from './cluster.js';
import type { SoakContext } from './context.js';
import { postBatch } from './experiences.js';

export interface TrafficOptions {
  /** Milliseconds between experience batches per feeder (0: back to back). */
  feedPauseMs: number;
  /** Milliseconds between predictions per predictor. */
  predictPauseMs: number;
  predictors: number;
  /** Experiences per batch. */
  batchSize: number;
  /** Whether to feed experiences at all (settling keeps only predictions). */
  feed: boolean;
  /** Hard limit on the loops, whatever happens. */
  maxMs: number;
}

/** Share of feedback that reports an error: low enough that a healthy canary is not rolled back. */
const ERROR_FEEDBACK_RATE = 0.02;
/** Upper bound on iterations of any one loop. */
const MAX_ITERATIONS = 1_000_000;

export class Traffic {
  private stopped = false;
  private readonly loops: Promise<void>[] = [];
  predictions = 0;

  constructor(
    private readonly ctx: SoakContext,
    private readonly opts: TrafficOptions,
  ) {}

  start(): this {
    const deadline = Date.now() + this.opts.maxMs;
    const live = () => !this.stopped && Date.now() < deadline;
    const { ctx, opts } = this;
    if (opts.feed) {
      for (const path of ['jarvis-http', 'reactor-http'] as const) {
        const service = path === 'jarvis-http' ? 'jarvis' : 'reactor';
        this.loops.push(
          this.loop(live, async () => {
            await postBatch(ctx.client, ctx.ledger, path, ctx.cluster.url(service), ctx.source.batch(opts.batchSize), () => !live());
            await sleep(opts.feedPauseMs);
          }),
        );
      }
    }
    if (opts.feed) {
      // Someone watching the dashboard: the buffer's figures, a few times a second.
      this.loops.push(
        this.loop(live, async () => {
          await ctx.client.get('reactor GET /api/experiences/stats', `${ctx.cluster.url('reactor')}/api/experiences/stats`);
          await sleep(200);
        }),
      );
    }
    for (let p = 0; p < opts.predictors; p++) {
      let n = 0;
      this.loops.push(
        this.loop(live, async () => {
          const { text } = ctx.source.text();
          const id = await ctx.actions.predict(`session-${p}-${n++ % 50}`, text);
          if (id) {
            this.predictions++;
            await ctx.actions.feedback(id, ctx.rng.next() >= ERROR_FEEDBACK_RATE);
          } else await sleep(50);
          await sleep(opts.predictPauseMs);
        }),
      );
    }
    return this;
  }

  private async loop(live: () => boolean, step: () => Promise<void>): Promise<void> {
    for (let i = 0; i < MAX_ITERATIONS && live(); i++) await step();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.loops);
  }
}
