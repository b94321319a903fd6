/** `trinity rollback <model_type> [version]`: serve an earlier version as stable at once, with no canary. */
import type { Command } from 'commander';
import { MODEL_TYPES } from '../../model-types.js';
import { println, type CliContext } from '../context.js';
import { action } from '../lib/action.js';
import { formatRollback } from '../lib/format-deployment.js';
import { addReactorUrlOption, type ReactorUrlOption } from '../lib/options.js';

export function register(program: Command, ctx: CliContext): void {
  const cmd = program
    .command('rollback')
    .description('make an earlier version stable now (default: the one before the current stable); ends an active deployment')
    .argument('<model_type>', `model type (${MODEL_TYPES.join(', ')})`)
    .argument('[version]', 'version to return to, e.g. v1.0.2')
    .option('--json', "print the reactor's answer as JSON");
  addReactorUrlOption(cmd).action(
    action(ctx, async (modelType: string, version: string | undefined, opts: ReactorUrlOption & { json?: boolean }) => {
      const res = await ctx.reactor(opts.url).rollback(version === undefined ? { model_type: modelType } : { model_type: modelType, previous_version: version });
      println(ctx.io.stdout, opts.json ? JSON.stringify(res) : formatRollback(res));
    }),
  );
}
