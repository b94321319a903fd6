/** The Fastify instance every service starts from: limits, error handling, auth, request logging. */
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { installErrorHandling } from './error-handler.js';
import { installBearerAuth } from './auth.js';
import { lazyRequestLogger } from './lazy-request-logger.js';

export interface AppOptions {
  logger: Logger;
  bodyLimitBytes: number;
  apiToken?: string;
}

export function createApp({ logger, bodyLimitBytes, apiToken }: AppOptions): FastifyInstance {
  const app = Fastify({
    loggerInstance: logger,
    bodyLimit: bodyLimitBytes,
    // Per-request log lines would dominate the logs of a busy prime; errors are logged by the handler.
    logController: new LogController({ disableRequestLogging: true }),
    childLoggerFactory: lazyRequestLogger,
    return503OnClosing: true,
    forceCloseConnections: true,
  }) as unknown as FastifyInstance;
  installErrorHandling(app);
  installBearerAuth(app, apiToken);
  return app;
}
