/** The Fastify instance every service starts from: limits, error handling, auth, request logging. */
import Fastify, { type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { installErrorHandling } from './error-handler.js';
import { installBearerAuth } from './auth.js';

export interface AppOptions {
  logger: Logger;
  bodyLimitBytes: number;
  apiToken?: string;
}

export function createApp({ logger, bodyLimitBytes, apiToken }: AppOptions): FastifyInstance {
  const app = Fastify({
    loggerInstance: logger,
    bodyLimit: bodyLimitBytes,
    disableRequestLogging: true,
    return503OnClosing: true,
    forceCloseConnections: true,
  }) as unknown as FastifyInstance;
  installErrorHandling(app);
  installBearerAuth(app, apiToken);
  return app;
}
