/** `trinity train <model_type>`: start a training job on the reactor and follow it to its end. */
import { Option, type Command } from 'commander';
import type { TrainingStartRequest } from '../../client/index.js';
import { MODEL_TYPES } from '../../model-types.js';
import { println, type CliContext } from '../context.js';
import { action } from '../lib/action.js';
import { readExperiencesFile } from '../lib/experience-file.js';
import { EXIT } from '../lib/exit-codes.js';
import { followToExit } from '../lib/follow.js';
import { chooseMode, createJobOutput } from '../lib/job-output.js';
import { addReactorUrlOption, parsePositiveInt, parsePositiveNumber, urlFlag, type ReactorUrlOption } from '../lib/options.js';

interface TrainOptions extends ReactorUrlOption {
  epochs?: number;
  file?: string;
  jobId?: string;
  batchSize?: number;
  learningRate?: number;
  json?: boolean;
  follow: boolean;
}

export function register(program: Command, ctx: CliContext): void {
  const cmd = program
    .command('train')
    .description('train a model on the reactor and follow its progress to the new version')
    .argument('<model_type>', `model type to train (${MODEL_TYPES.join(', ')})`)
    .option('--epochs <n>', 'epochs to train (reactor default: 10)', parsePositiveInt)
    .option('--file <path>', 'experiences to train on: JSON array, JSONL or .gz (default: the reactor buffer)')
    .option('--job-id <id>', 'job id; the same id again follows the existing job instead of starting another')
    .option('--batch-size <n>', 'training batch size', parsePositiveInt)
    .option('--learning-rate <x>', 'optimizer learning rate', parsePositiveNumber)
    .option('--json', 'print each event as one JSON line')
    .addOption(new Option('--no-follow', 'start the job and return without following it'));
  addReactorUrlOption(cmd).action(
    action(ctx, async (modelType: string, opts: TrainOptions) => {
      const client = ctx.reactor(opts.url);
      const body: TrainingStartRequest = { model_type: modelType };
      if (opts.jobId !== undefined) body.job_id = opts.jobId;
      if (opts.epochs !== undefined) body.epochs = opts.epochs;
      if (opts.batchSize !== undefined || opts.learningRate !== undefined) {
        body.config = { batch_size: opts.batchSize, learning_rate: opts.learningRate };
      }
      if (opts.file !== undefined) body.experiences = await readExperiencesFile(opts.file);

      const started = await client.startTraining(body);
      if (!opts.follow) {
        println(ctx.io.stdout, opts.json ? JSON.stringify(started) : `job ${started.job_id} ${started.status}; follow it with: trinity status ${started.job_id} --follow${urlFlag(opts)}`);
        return EXIT.OK;
      }
      const output = createJobOutput(chooseMode(opts.json === true, ctx.io.stdout), ctx.io, modelType);
      output.started(started);
      return followToExit({ client, jobId: started.job_id, output, urlFlag: urlFlag(opts) });
    }),
  );
}
