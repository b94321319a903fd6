/** `trinity deploy <model_type> <version>`: start a deployment on the reactor and follow its decisions live. */
import { InvalidArgumentError, Option, type Command } from 'commander';
import { DEPLOYMENT_STRATEGIES, type DeployRequestBody } from '../../client/index.js';
import { MODEL_TYPES } from '../../model-types.js';
import { println, type CliContext } from '../context.js';
import { action } from '../lib/action.js';
import { followDeploymentToExit } from '../lib/follow-deployment.js';
import { formatDeployStarted } from '../lib/format-deployment.js';
import { addReactorUrlOption, parsePositiveInt, urlFlag, type ReactorUrlOption } from '../lib/options.js';

interface DeployOptions extends ReactorUrlOption {
  strategy?: DeployRequestBody['strategy'];
  initialPercentage?: number;
  steps?: number[];
  maxErrorRate?: number;
  monitorSeconds?: number;
  minSamples?: number;
  autoRollback: boolean;
  force?: boolean;
  deploymentId?: string;
  json?: boolean;
  follow: boolean;
}

function parsePercentage(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n <= 0 || n > 100) throw new InvalidArgumentError('expected a percentage above 0, at most 100.');
  return n;
}

function parseSteps(value: string): number[] {
  return value.split(',').map((p) => parsePercentage(p));
}

function parseRate(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0 || n > 1) throw new InvalidArgumentError('expected a rate between 0 and 1.');
  return n;
}

function parseSeconds(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0) throw new InvalidArgumentError('expected seconds >= 0.');
  return n;
}

export function register(program: Command, ctx: CliContext): void {
  const cmd = program
    .command('deploy')
    .description('deploy a model version (gradual rollout by default) and follow it until it completes or rolls back')
    .argument('<model_type>', `model type (${MODEL_TYPES.join(', ')})`)
    .argument('<version>', 'version to deploy, e.g. v1.0.3 (see `trinity models`)')
    .addOption(new Option('--strategy <strategy>', 'how traffic moves (reactor default: gradual_rollout)').choices(DEPLOYMENT_STRATEGIES))
    .option('--initial-percentage <n>', "the new version's first share of traffic", parsePercentage)
    .option('--steps <list>', 'gradual_rollout steps, e.g. 10,25,50,75,100', parseSteps)
    .option('--max-error-rate <x>', 'roll back above this error rate (default 0.05)', parseRate)
    .option('--monitor-seconds <s>', 'each step holds at least this long (default 300)', parseSeconds)
    .option('--min-samples <n>', 'outcomes a step needs before it advances (default AB_TEST_MIN_SAMPLES)', parsePositiveInt)
    .addOption(new Option('--no-auto-rollback', 'pause instead of rolling back when the error rate is over the limit'))
    .option('--force', 'deploy even when its val_accuracy is clearly below the stable version')
    .option('--deployment-id <id>', 'id for the deployment; the same id again follows the existing one')
    .option('--json', 'print each decision as one JSON line')
    .addOption(new Option('--no-follow', 'start the deployment and return'));
  addReactorUrlOption(cmd).action(
    action(ctx, async (modelType: string, version: string, opts: DeployOptions) => {
      const client = ctx.reactor(opts.url);
      const config: NonNullable<DeployRequestBody['config']> = {};
      if (opts.initialPercentage !== undefined) config.initial_percentage = opts.initialPercentage;
      if (opts.steps !== undefined) config.rollout_steps = opts.steps;
      if (opts.maxErrorRate !== undefined) config.rollback_on_error_rate = opts.maxErrorRate;
      if (opts.monitorSeconds !== undefined) config.monitor_duration_seconds = opts.monitorSeconds;
      if (opts.minSamples !== undefined) config.min_samples = opts.minSamples;
      if (!opts.autoRollback) config.auto_rollback = false;
      const body: DeployRequestBody = { model_type: modelType, model_version: version, config };
      if (opts.strategy !== undefined) body.strategy = opts.strategy;
      if (opts.force) body.force = true;
      if (opts.deploymentId !== undefined) body.deployment_id = opts.deploymentId;

      const started = await client.deploy(body);
      if (!opts.json) println(ctx.io.stdout, formatDeployStarted(started));
      else if (!opts.follow) println(ctx.io.stdout, JSON.stringify(started));
      if (!opts.follow) return;
      return followDeploymentToExit({ client, io: ctx.io, deploymentId: started.deployment_id, modelType, json: opts.json === true, urlFlag: urlFlag(opts) });
    }),
  );
}
