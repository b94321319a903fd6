/** `trinity reactor`: runs Reactor-Core in the foreground until SIGINT/SIGTERM. */
import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { runService } from '../lib/run-service.js';
import { Reactor } from '../../reactor/reactor-service.js';

export function register(program: Command, ctx: CliContext): void {
  program
    .command('reactor')
    .description('run Reactor-Core (experience intake, training, model registry) in the foreground')
    .option('--port <port>', 'listen on this port (overrides REACTOR_CORE_PORT; 0 picks a free one)')
    .option('--train', 'train jobs here as well as on workers (TRAINING_WORKERS=reactor; the default on SQLite, not on Postgres)')
    .action(async (opts: { port?: string; train?: boolean }) => {
      await runService(ctx, {
        service: 'reactor',
        env: { ...(opts.port === undefined ? {} : { REACTOR_CORE_PORT: opts.port }), ...(opts.train ? { TRAINING_WORKERS: 'reactor' } : {}) },
        create: (config, logger) => new Reactor({ config, logger }),
      });
    });
}
