/**
 * `trinity up`: starts Reactor-Core, J-Prime and JARVIS (or adopts the ones already running), checks
 * that they reach each other, prints a summary, shows their logs, restarts a crashed one, and stops
 * what it started on Ctrl-C or SIGTERM. The work is src/supervisor's; this file is terminal output and
 * signals.
 */
import { InvalidArgumentError, type Command } from 'commander';
import { parseConfig } from '../../config/config.js';
import { gatherFacts, runChecks } from '../../doctor/index.js';
import { redactUrl } from '../../store/sql.js';
import { createLogger } from '../../util/logger.js';
import {
  RULE,
  MAX_UP_WORKERS,
  Supervisor,
  createPlan,
  describeExit,
  formatFailure,
  formatLogLine,
  formatSummary,
  paint,
  servicePrefix,
  summaryRecord,
  type ServiceName,
  type StepKind,
} from '../../supervisor/index.js';
import { TRINITY_VERSION } from '../../version.js';
import { println, type CliContext, type OutStream } from '../context.js';
import { action } from '../lib/action.js';
import { EXIT } from '../lib/exit-codes.js';
import { describeCheck } from '../lib/format-doctor.js';

interface UpFlags {
  workers?: number;
  reactorPort?: string;
  primePort?: string;
  jarvisPort?: string;
  json?: boolean;
}

/** Period of the timer that keeps the process alive while it waits for a signal; its value does not matter. */
const KEEP_ALIVE_MS = 60_000;

const MARKS: Record<StepKind, string> = { info: '→', ok: '✓', fail: '✗', warn: '!' };
const MARK_COLOURS = { info: 'dim', ok: 'green', fail: 'red', warn: 'yellow' } as const;

function parseWorkers(value: string): number {
  const n = Number(value);
  if (!/^\s*\d+\s*$/.test(value) || n > MAX_UP_WORKERS) throw new InvalidArgumentError(`expected a number of workers 0-${MAX_UP_WORKERS}.`);
  return n;
}

function parsePort(value: string): string {
  const n = Number(value);
  if (!/^\s*\d+\s*$/.test(value) || n > 65535) throw new InvalidArgumentError('expected a port 0-65535 (0 picks a free one).');
  return String(n);
}

const HELP = `
Each service is adopted instead of launched when it already answers its health probe at its URL;
adopted and external services are left running on exit. Switches and ports come from the environment
(REACTOR_CORE_ENABLED, JARVIS_PRIME_ENABLED, JARVIS_PRIME_URL for an external J-Prime, *_PORT, *_HOST).

Health timeouts (the design's 60 s for Reactor-Core, 30 s for J-Prime and JARVIS) can be changed with
  TRINITY_UP_TIMEOUT_SCALE          multiplies every timeout (default 1)
  TRINITY_UP_REACTOR_TIMEOUT        seconds for Reactor-Core (default 60)
  TRINITY_UP_PRIME_TIMEOUT          seconds for J-Prime (default 30)
  TRINITY_UP_JARVIS_TIMEOUT         seconds for JARVIS (default 30)
A crashed service is restarted after 1 s, 2 s, 4 s … (at most 30 s). Ctrl-C stops the services it
started: SIGTERM, up to 20 s each, then SIGKILL. Its own log: JARVIS_HOME/logs/supervisor.log.`;

export function register(program: Command, ctx: CliContext): void {
  program
    .command('up')
    .description('start Reactor-Core, J-Prime and JARVIS in dependency order, check them, show their logs')
    .option('--reactor-port <port>', 'Reactor-Core port (overrides REACTOR_CORE_PORT)', parsePort)
    .option('--prime-port <port>', 'J-Prime port (overrides JARVIS_PRIME_PORT)', parsePort)
    .option('--jarvis-port <port>', 'JARVIS port (overrides JARVIS_PORT)', parsePort)
    .option('--workers <n>', `also start n training workers (trinity worker) next to a reactor that leaves training to them (0-${MAX_UP_WORKERS})`, parseWorkers)
    .option('--json', "pass the services' JSON log lines through on stdout; progress and summary go to stderr")
    .addHelpText('after', HELP)
    .action(action(ctx, (flags: UpFlags) => up(ctx, flags)));
}

async function up(ctx: CliContext, flags: UpFlags): Promise<number> {
  const env = { ...ctx.io.env };
  if (flags.reactorPort !== undefined) env.REACTOR_CORE_PORT = flags.reactorPort;
  if (flags.primePort !== undefined) env.JARVIS_PRIME_PORT = flags.primePort;
  if (flags.jarvisPort !== undefined) env.JARVIS_PORT = flags.jarvisPort;
  const workers = flags.workers ?? 0;
  // With workers of its own the reactor queues, streams and registers, and they train (unless told otherwise).
  // Without any, it trains itself, also on Postgres (where a lone `trinity reactor` leaves training to
  // workers): on one box with `up`, someone must train.
  if ((env.TRAINING_WORKERS ?? '').trim() === '') env.TRAINING_WORKERS = workers > 0 ? 'external' : 'reactor';
  const config = parseConfig(env);
  const plan = createPlan(config, env, workers);
  const logger = createLogger({ service: 'supervisor', level: config.logLevel, logDir: config.paths.logs });
  // --json keeps stdout a clean stream of JSON records; everything meant for a person goes to stderr.
  const json = flags.json === true;
  const out: OutStream = json ? ctx.io.stderr : ctx.io.stdout;
  const colour = out.isTTY === true && !env.NO_COLOR;
  const say = (line = '') => println(out, line);
  const mark = (kind: StepKind) => paint(colour, MARK_COLOURS[kind], MARKS[kind]);

  const supervisor = new Supervisor({ config, plan, env, logger });
  supervisor.on('phase', (index, title) => {
    say();
    say(`PHASE ${index}: ${title}`);
  });
  supervisor.on('step', (_service, kind, message) => say(`  ${mark(kind)} ${message}`));
  supervisor.on('line', (service, line, stream) => {
    if (json && stream === 'stdout') println(ctx.io.stdout, line);
    else say(formatLogLine(service, line, { colour }));
  });
  const note = (service: ServiceName, kind: StepKind, message: string) => say(`${servicePrefix(service, { colour })}${mark(kind)} ${message}`);
  supervisor.on('crashed', (s, exit) => note(s, 'fail', `exited unexpectedly (${describeExit(exit)}, PID ${exit.pid})`));
  supervisor.on('restarting', (s, attempt, delayMs) => note(s, 'info', `restarting in ${delayMs / 1000} s (restart ${attempt})`));
  supervisor.on('restarted', (s, pid, attempt, afterMs) => note(s, 'ok', `restarted (PID: ${pid}), healthy after ${(afterMs / 1000).toFixed(1)} s (restart ${attempt})`));
  supervisor.on('restartFailed', (s, attempt, reason) => note(s, 'fail', `restart ${attempt} failed: ${reason}`));

  let signalled: NodeJS.Signals | null = null;
  let wakeStop: () => void = () => undefined;
  const stopRequested = new Promise<void>((resolve) => (wakeStop = resolve));
  const onSignal = (signal: NodeJS.Signals) => {
    if (signalled) {
      say(`${signal} again: killing the services now`);
      supervisor.pool.killAll();
      return;
    }
    signalled = signal;
    say();
    say(`${signal}: stopping the services trinity up started (Ctrl-C again to kill them at once)…`);
    logger.info({ signal }, 'stopping');
    wakeStop();
  };
  // Last resort if this process dies unexpectedly: no launched child may outlive it.
  const onExit = () => supervisor.pool.killAll();
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('exit', onExit);
  try {
    say(RULE);
    say(`Trinity startup orchestration v${TRINITY_VERSION}  (home ${config.home})`);
    say(RULE);
    const started = supervisor.start();
    const outcome = await Promise.race([started, stopRequested.then(() => supervisor.close()).then(() => started)]);
    if (!outcome.ok && outcome.failure.aborted) {
      say('Start interrupted; the services trinity up had launched are stopped.');
      return EXIT.INTERRUPTED;
    }
    if (!outcome.ok) {
      for (const l of formatFailure(outcome.failure, (line) => formatLogLine(outcome.failure.service, line, { colour }), { colour })) say(l);
      return EXIT.FAILED;
    }
    say();
    // The doctor's blocking problems (ports aside: our services hold them now) belong next to "FULL MODE".
    // Reactor is not asked for estimates here: each would gather its whole buffer just for this summary.
    const blocked = await gatherFacts(config, env, { ports: false }).then(runChecks, () => []);
    const trainingProblems = blocked.filter((r) => r.status === 'fail').map(describeCheck);
    const database = config.databaseUrl === undefined ? `SQLite at ${config.databasePath}` : `Postgres at ${redactUrl(config.databaseUrl)}`;
    for (const l of formatSummary(outcome.report, { colour, trainingProblems, database })) say(l);
    if (json) println(ctx.io.stdout, JSON.stringify({ level: 30, time: Date.now(), service: 'up', msg: 'startup summary', ...summaryRecord(outcome.report) }));
    say('Running. Ctrl-C stops the services started here; adopted and external ones keep running.');
    // Signal listeners do not keep Node alive: with every service adopted there is no child either,
    // and the process would end here instead of waiting for Ctrl-C.
    const keepAlive = setInterval(() => undefined, KEEP_ALIVE_MS);
    await stopRequested;
    clearInterval(keepAlive);
    await supervisor.close();
    say('All services started by trinity up have stopped.');
    return EXIT.OK;
  } finally {
    await supervisor.close();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.off('exit', onExit);
    await new Promise<void>((resolve) => logger.flush(() => resolve()));
  }
}
