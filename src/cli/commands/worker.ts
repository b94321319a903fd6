/** `trinity worker`: trains the jobs the reactor queues, in the foreground until SIGINT/SIGTERM. */
import { Option, type Command } from 'commander';
import type { CliContext } from '../context.js';
import { runService } from '../lib/run-service.js';
import { Worker } from '../../worker/worker-service.js';
import { WORKER_POOLS } from '../../worker-pools.js';

export function register(program: Command, ctx: CliContext): void {
  program
    .command('worker')
    .description('run a training worker: claims queued jobs from the shared database and trains them (health and metrics over HTTP only)')
    .option('--port <port>', 'health and metrics port (overrides TRINITY_WORKER_PORT, default 8091; 0 picks a free one)')
    .addOption(new Option('--pool <pool>', 'the pool whose jobs this worker claims (TRINITY_WORKER_POOL; default local)').choices(WORKER_POOLS))
    .addHelpText(
      'after',
      `
It shares the reactor's database (JARVIS_HOME) and TRINITY_ARTIFACT_DIR (datasets, checkpoints, models).
Run the reactor with TRAINING_WORKERS=external to leave all training to workers. A worker that dies loses
its job after TRAINING_LEASE_TTL seconds and another worker resumes it from its last checkpoint.
See docs/workers.md.`,
    )
    .action(async (opts: { port?: string; pool?: string }) => {
      const env: Record<string, string> = {};
      if (opts.port !== undefined) env.TRINITY_WORKER_PORT = opts.port;
      if (opts.pool !== undefined) env.TRINITY_WORKER_POOL = opts.pool;
      await runService(ctx, { service: 'worker', env, create: (config, logger) => new Worker({ config, logger }) });
    });
}
