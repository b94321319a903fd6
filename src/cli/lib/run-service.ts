/**
 * Runs one service in the foreground: config, logger (JSON to JARVIS_HOME/logs/<service>.log and stdout),
 * start, then a clean close on SIGINT/SIGTERM. A second signal exits at once.
 *
 * A service launched by `trinity up` has an IPC channel to it; when `up` dies (SIGKILL, crash) the
 * channel closes and the service stops as on SIGTERM instead of running on unsupervised. Its stdout and
 * stderr are then pipes nobody reads: writes fail with EPIPE, which is ignored, and the process exits
 * within CLOSE_DEADLINE_MS of the stop whatever its output or a library timer does.
 */
import type { Logger } from 'pino';
import { parseConfig, type Config } from '../../config/config.js';
import { createLogger } from '../../util/logger.js';
import type { CliContext } from '../context.js';
import { println } from '../context.js';

/** From the stop request to process exit, at most this long (reactor lets trainers checkpoint for 15 s). */
export const CLOSE_DEADLINE_MS = 25_000;
/** After close, the log gets this long to flush before the process exits. */
const FLUSH_DEADLINE_MS = 2_000;

export interface ForegroundService {
  start(): Promise<number>;
  close(): Promise<void>;
}

export interface RunServiceOptions {
  service: string;
  /** Variables that command-line flags override. */
  env: Record<string, string>;
  create: (config: Config, logger: Logger) => ForegroundService;
}

/** EPIPE (and any other write error) on stdout/stderr must not crash a service whose reader is gone. */
function ignoreOutputErrors(): void {
  for (const stream of [process.stdout, process.stderr]) stream.on('error', () => undefined);
}

export async function runService(ctx: CliContext, opts: RunServiceOptions): Promise<void> {
  ignoreOutputErrors();
  const config = parseConfig({ ...ctx.io.env, ...opts.env });
  const logger = createLogger({ service: opts.service, level: config.logLevel, logDir: config.paths.logs, stdout: true });
  const service = opts.create(config, logger);
  let stopping = false;
  const stopped = new Promise<void>((resolve) => {
    const stop = (reason: string) => {
      if (stopping) {
        logger.warn({ signal: reason }, 'second signal: exiting without waiting');
        process.exit(130);
      }
      stopping = true;
      logger.info({ signal: reason }, `${opts.service} stopping`);
      setTimeout(() => {
        logger.error({ deadline_ms: CLOSE_DEADLINE_MS }, `${opts.service} did not stop in time; exiting`);
        process.exit(1);
      }, CLOSE_DEADLINE_MS).unref();
      service.close().then(resolve, (err: unknown) => {
        logger.error({ err }, 'error while stopping');
        resolve();
      });
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
    if (process.channel) {
      // Launched by `trinity up`: its death closes the channel. The channel must not keep us alive itself.
      process.once('disconnect', () => stop('supervisor gone'));
      process.channel.unref();
    }
  });
  const port = await service.start();
  println(ctx.io.stderr, `${opts.service} listening on port ${port} (home ${config.home}); Ctrl-C to stop`);
  await stopped;
  // Everything is closed; don't wait for idle sockets or timers of libraries to let the loop drain.
  await new Promise<void>((resolve) => {
    setTimeout(resolve, FLUSH_DEADLINE_MS).unref();
    logger.flush(() => resolve());
  });
  process.exit(0);
}
