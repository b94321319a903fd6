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
    .action(async (opts: { port?: string }) => {
      await runService(ctx, {
        service: 'reactor',
        env: opts.port === undefined ? {} : { REACTOR_CORE_PORT: opts.port },
        create: (config, logger) => new Reactor({ config, logger }),
      });
    });
}
