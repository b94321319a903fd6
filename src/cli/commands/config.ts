/** `trinity config`: the resolved configuration, as aligned `KEY  value` lines or JSON. */
import type { Command } from 'commander';
import { println, type CliContext } from '../context.js';
import { action } from '../lib/action.js';
import { alignPairs } from '../lib/format.js';
import { configToJson, flattenConfig, maskSecrets } from '../lib/format-config.js';

export function register(program: Command, ctx: CliContext): void {
  program
    .command('config')
    .description('print the resolved configuration (environment + defaults); secrets are masked')
    .option('--json', 'print it as JSON')
    .action(
      action(ctx, async (opts: { json?: boolean }) => {
        const config = ctx.config();
        if (opts.json) println(ctx.io.stdout, configToJson(config));
        else for (const line of alignPairs(flattenConfig(maskSecrets(config)))) println(ctx.io.stdout, line);
      }),
    );
}
