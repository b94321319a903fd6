/** `trinity models [model_type]`: registered versions with their accuracy, which is stable and which is canary. */
import type { Command } from 'commander';
import { println, type CliContext } from '../context.js';
import { action } from '../lib/action.js';
import { formatModels } from '../lib/format-deployment.js';
import { addReactorUrlOption, type ReactorUrlOption } from '../lib/options.js';

export function register(program: Command, ctx: CliContext): void {
  const cmd = program
    .command('models')
    .description('list model versions, newest first, with the stable and canary of each type and any active deployment')
    .argument('[model_type]', 'only this model type')
    .option('--json', "print the reactor's answer as JSON");
  addReactorUrlOption(cmd).action(
    action(ctx, async (modelType: string | undefined, opts: ReactorUrlOption & { json?: boolean }) => {
      const answer = await ctx.reactor(opts.url).models(modelType);
      const lines = opts.json ? null : formatModels(answer);
      if (lines === null) println(ctx.io.stdout, JSON.stringify(answer, null, 2));
      else for (const l of lines) println(ctx.io.stdout, l);
    }),
  );
}
