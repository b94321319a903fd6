/** `trinity cancel <job_id>`: stop a queued or running training job. */
import type { Command } from 'commander';
import { println, type CliContext } from '../context.js';
import { action } from '../lib/action.js';
import { addReactorUrlOption, type ReactorUrlOption } from '../lib/options.js';

export function register(program: Command, ctx: CliContext): void {
  const cmd = program
    .command('cancel')
    .description('cancel a queued or running training job')
    .argument('<job_id>', 'the job to cancel')
    .option('--json', "print the reactor's answer as JSON");
  addReactorUrlOption(cmd).action(
    action(ctx, async (jobId: string, opts: ReactorUrlOption & { json?: boolean }) => {
      const res = await ctx.reactor(opts.url).cancel(jobId);
      println(ctx.io.stdout, opts.json ? JSON.stringify(res) : `job ${res.job_id} ${res.status}${res.message ? `: ${res.message}` : ''}`);
    }),
  );
}
