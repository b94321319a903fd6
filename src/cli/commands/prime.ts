/** `trinity prime`: runs J-Prime (model serving, traffic split, hot swap) in the foreground until SIGINT/SIGTERM. */
import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { runService } from '../lib/run-service.js';
import { Prime } from '../../prime/index.js';

export function register(program: Command, ctx: CliContext): void {
  program
    .command('prime')
    .description('run J-Prime (serves the deployed models, splits traffic, hot-swaps versions) in the foreground')
    .option('--port <port>', 'listen on this port (overrides JARVIS_PRIME_PORT; 0 picks a free one)')
    .action(async (opts: { port?: string }) => {
      await runService(ctx, {
        service: 'prime',
        env: opts.port === undefined ? {} : { JARVIS_PRIME_PORT: opts.port },
        create: (config, logger) => new Prime({ config, logger }),
      });
    });
}
