/**
 * `trinity demo`: teaches a running Trinity (`trinity up`) the SNIPS intents and shows the whole loop as
 * it happens: experiences sent to JARVIS and forwarded, a training job auto-queued, why it waits, its
 * epochs, the registered version, its deployment (live, gradual rollout, or refused by the gate) and
 * what J-Prime serves, then a few real predictions. Each line comes from the services' own state.
 */
import { basename, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { action } from '../lib/action.js';
import { connect } from '../lib/demo/connect.js';
import { demoRounds, DEMO_SEED, readDemoCsv } from '../lib/demo/data.js';
import { showPredictions } from '../lib/demo/predictions.js';
import { DemoReport } from '../lib/demo/report.js';
import { DemoRoundRunner, MODEL_TYPE, type RoundResult } from '../lib/demo/round.js';
import { CliUsageError } from '../lib/errors.js';
import { EXIT } from '../lib/exit-codes.js';
import { parseHttpUrl, parsePositiveInt } from '../lib/options.js';

interface DemoOptions {
  csv: string;
  jarvisUrl?: string;
  rounds: number;
  perRound: number;
  timeout: number;
}

const DEFAULT_CSV = fileURLToPath(new URL('../../../data/nlu-snips/train.csv', import.meta.url));

export function register(program: Command, ctx: CliContext): void {
  program
    .command('demo')
    .description('teach a running Trinity (`trinity up`) the SNIPS intents and watch each step: forwarding, training, deployment, predictions')
    .option('--csv <file>', 'a CSV with text and intent columns', DEFAULT_CSV)
    .option('--jarvis-url <url>', 'JARVIS (default: from JARVIS_HOST/JARVIS_PORT)', parseHttpUrl)
    .option('--rounds <n>', 'rounds of experiences; each trains a new version', parsePositiveInt, 2)
    .option('--per-round <n>', 'experiences per round (at least MIN_EXPERIENCES_FOR_TRAINING)', parsePositiveInt, 3000)
    .option('--timeout <seconds>', 'most seconds from a queued job to its deployed version', parsePositiveInt, 600)
    .action(
      action(ctx, async (opts: DemoOptions) => {
        const config = ctx.config();
        const min = config.training.minExperiencesForTraining;
        if (opts.perRound < min) throw new CliUsageError(`--per-round ${opts.perRound} is below MIN_EXPERIENCES_FOR_TRAINING ${min}: JARVIS would never train on a round`);
        const rows = readDemoCsv(opts.csv);
        const rounds = demoRounds(rows, { rounds: opts.rounds, perRound: opts.perRound, seed: DEMO_SEED, runId: Date.now().toString(36) });
        const intents = new Set(rows.map((r) => r.intent)).size;

        const { services, hostTotalGb } = await connect({
          jarvisUrl: opts.jarvisUrl ?? `http://${config.jarvis.host}:${config.jarvis.port}`,
          reactorUrl: config.reactor.url,
          primeUrl: config.prime.url,
          token: config.apiToken,
        });
        const report = new DemoReport(ctx.io.stdout);
        report.line(`trinity demo: ${rows.length} ${MODEL_TYPE} examples, ${intents} intents, from ${displayPath(opts.csv)}, shuffled (seed ${DEMO_SEED})`);
        report.line(`  JARVIS ${services.jarvis.baseUrl} → Reactor-Core ${services.reactor.baseUrl} → J-Prime ${services.prime.baseUrl}`);
        if (rounds.length < opts.rounds) report.line(`  the file has rows for ${rounds.length} of the ${opts.rounds} rounds asked for`);

        const runner = new DemoRoundRunner(services, { minExperiences: min, timeoutMs: opts.timeout * 1000, hostTotalGb }, report);
        const results: RoundResult[] = [];
        for (const round of rounds) {
          report.line();
          report.line(`round ${round.number} of ${rounds.length}: rows ${round.from}–${round.to} of the shuffled data`);
          results.push(await runner.run(round));
        }

        report.line();
        report.line(`J-Prime answers (POST ${services.prime.baseUrl}/api/predict/${MODEL_TYPE}):`);
        await showPredictions(services.prime, report, intents);

        report.line();
        for (const l of nextSteps(results, services.reactor.baseUrl)) report.line(l);
        return EXIT.OK;
      }),
    );
}

/** `data/nlu-snips/train.csv` for the bundled file, the path as given otherwise. */
function displayPath(csv: string): string {
  const rel = relative(process.cwd(), resolve(csv));
  return rel.startsWith('..') ? csv : rel || basename(csv);
}

function nextSteps(results: readonly RoundResult[], reactorUrl: string): string[] {
  const lines = [`Watch it on the dashboard: ${reactorUrl}/`];
  const rolling = results.findLast((r) => r.outcome === 'rollout');
  if (rolling) {
    lines.push(`${rolling.version}'s rollout moves on as J-Prime reports good outcomes: \`npx trinity models ${MODEL_TYPE}\` shows where it is.`);
  }
  return lines;
}
