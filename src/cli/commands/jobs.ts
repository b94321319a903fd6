/** `trinity jobs`: recent training jobs, newest first. */
import { Option, type Command } from 'commander';
import { JOB_STATUSES } from '../../client/index.js';
import { println, type CliContext } from '../context.js';
import { action } from '../lib/action.js';
import { formatJobsTable } from '../lib/format-job.js';
import { addReactorUrlOption, parsePositiveInt, type ReactorUrlOption } from '../lib/options.js';

interface JobsOptions extends ReactorUrlOption {
  status?: string;
  limit?: number;
  modelType?: string;
  json?: boolean;
}

export function register(program: Command, ctx: CliContext): void {
  const cmd = program
    .command('jobs')
    .description('list recent training jobs, newest first')
    .addOption(new Option('--status <status>', 'only jobs in this state').choices(JOB_STATUSES))
    .option('--model-type <type>', 'only jobs for this model type')
    .option('--limit <n>', 'at most this many jobs (reactor default: 50)', parsePositiveInt)
    .option('--json', 'print the list as JSON');
  addReactorUrlOption(cmd).action(
    action(ctx, async (opts: JobsOptions) => {
      const jobs = await ctx.reactor(opts.url).jobs({ status: opts.status, model_type: opts.modelType, limit: opts.limit });
      if (opts.json) println(ctx.io.stdout, JSON.stringify(jobs, null, 2));
      else if (jobs.length === 0) println(ctx.io.stdout, 'no training jobs' + (opts.status || opts.modelType ? ' match' : ' yet'));
      else for (const line of formatJobsTable(jobs)) println(ctx.io.stdout, line);
    }),
  );
}
