/**
 * Runs one service in the foreground: config, logger (JSON to JARVIS_HOME/logs/<service>.log and stdout),
 * start, then a clean close on SIGINT/SIGTERM. A second signal exits at once.
 */
import type { Logger } from 'pino';
import { parseConfig, type Config } from '../../config/config.js';
import { createLogger } from '../../util/logger.js';
import type { CliContext } from '../context.js';
import { println } from '../context.js';

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

export async function runService(ctx: CliContext, opts: RunServiceOptions): Promise<void> {
  const config = parseConfig({ ...ctx.io.env, ...opts.env });
  const logger = createLogger({ service: opts.service, level: config.logLevel, logDir: config.paths.logs, stdout: true });
  const service = opts.create(config, logger);
  let stopping = false;
  const stopped = new Promise<void>((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => {
      if (stopping) {
        logger.warn({ signal }, 'second signal: exiting without waiting');
        process.exit(130);
      }
      stopping = true;
      logger.info({ signal }, `${opts.service} stopping`);
      service.close().then(resolve, (err: unknown) => {
        logger.error({ err }, 'error while stopping');
        resolve();
      });
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
  const port = await service.start();
  println(ctx.io.stderr, `${opts.service} listening on port ${port} (home ${config.home}); Ctrl-C to stop`);
  await stopped;
  // Everything is closed; don't wait for idle sockets or timers of libraries to let the loop drain.
  await new Promise<void>((resolve) => logger.flush(() => resolve()));
  process.exit(0);
}
