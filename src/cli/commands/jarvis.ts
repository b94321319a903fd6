/** `trinity jarvis`: runs JARVIS core (experience collection, training coordinator) in the foreground until SIGINT/SIGTERM. */
import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { runService } from '../lib/run-service.js';
import { Jarvis } from '../../jarvis/index.js';

export function register(program: Command, ctx: CliContext): void {
  program
    .command('jarvis')
    .description('run JARVIS core (experience collection, training queue, lock, auto-trigger) in the foreground')
    .option('--port <port>', 'listen on this port (overrides JARVIS_PORT; 0 picks a free one)')
    .action(async (opts: { port?: string }) => {
      await runService(ctx, {
        service: 'jarvis',
        env: opts.port === undefined ? {} : { JARVIS_PORT: opts.port },
        create: (config, logger) => new Jarvis({ config, logger }),
      });
    });
}
