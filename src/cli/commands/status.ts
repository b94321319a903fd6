/** `trinity status <job_id>`: one job's state, or its live progress with `--follow`. */
import type { Command } from 'commander';
import { println, type CliContext } from '../context.js';
import { action } from '../lib/action.js';
import { followToExit } from '../lib/follow.js';
import { formatStatus } from '../lib/format-job.js';
import { chooseMode, createJobOutput } from '../lib/job-output.js';
import { addReactorUrlOption, urlFlag, type ReactorUrlOption } from '../lib/options.js';

interface StatusOptions extends ReactorUrlOption {
  json?: boolean;
  follow?: boolean;
}

export function register(program: Command, ctx: CliContext): void {
  const cmd = program
    .command('status')
    .description("show a training job's state, or follow it live with --follow")
    .argument('<job_id>', 'the job, as `trinity train` or `trinity jobs` printed it')
    .option('--json', 'print JSON (with --follow: one JSON line per event)')
    .option('-f, --follow', 'follow the job from its first event until it ends (exit 0 when it completes)');
  addReactorUrlOption(cmd).action(
    action(ctx, async (jobId: string, opts: StatusOptions) => {
      const client = ctx.reactor(opts.url);
      const status = await client.status(jobId);
      if (opts.follow) {
        const output = createJobOutput(chooseMode(opts.json === true, ctx.io.stdout), ctx.io, status.model_type ?? undefined);
        return followToExit({ client, jobId, output, urlFlag: urlFlag(opts) });
      }
      if (opts.json) println(ctx.io.stdout, JSON.stringify(status, null, 2));
      else for (const line of formatStatus(status)) println(ctx.io.stdout, line);
    }),
  );
}
