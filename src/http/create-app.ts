/** The Fastify instance every service starts from: limits, error handling, origin guard, auth, request logging. */
import { MIMEType } from 'node:util';
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { HttpUnsupportedMedia } from '../errors.js';
import { frameworkError, installErrorHandling } from './error-handler.js';
import { installBearerAuth } from './auth.js';
import { installOriginGuard } from './origin-guard.js';
import { lazyRequestLogger } from './lazy-request-logger.js';

export interface AppOptions {
  logger: Logger;
  bodyLimitBytes: number;
  apiToken?: string;
  /** Host names answered besides loopback (serviceAllowedHosts). Default: loopback only. */
  allowedHosts?: readonly string[];
}

const UTF8 = new Set(['utf-8', 'utf8']);
/** The content types real clients send, known to be UTF-8 JSON without parsing them again. */
const PLAIN_JSON = new Set(['application/json', 'application/json; charset=utf-8', 'application/json;charset=utf-8']);

/**
 * Bodies are read as UTF-8; one that declares another charset (`application/json; charset=utf-16`)
 * would be misread, so it is refused with 415 rather than decoded.
 */
function installCharsetCheck(app: FastifyInstance): void {
  // A callback hook, not an async one: no promise and no microtask per request.
  app.addHook('preParsing', (req, _reply, payload, done) => {
    const type = req.headers['content-type'];
    if (type === undefined || PLAIN_JSON.has(type)) return done(null, payload);
    let charset: string | null = null;
    try {
      charset = new MIMEType(type).params.get('charset');
    } catch {
      return done(null, payload); // Fastify's parser lookup refuses an unparsable type with 415.
    }
    if (charset !== null && !UTF8.has(charset.toLowerCase())) {
      return done(HttpUnsupportedMedia.with({ details: `charset ${charset} is not supported; send the body as UTF-8` }, JSON.stringify(type)));
    }
    done(null, payload);
  });
}

export function createApp({ logger, bodyLimitBytes, apiToken, allowedHosts }: AppOptions): FastifyInstance {
  const app = Fastify({
    loggerInstance: logger,
    bodyLimit: bodyLimitBytes,
    // Per-request log lines would dominate the logs of a busy prime; errors are logged by the handler.
    logController: new LogController({ disableRequestLogging: true }),
    childLoggerFactory: lazyRequestLogger,
    return503OnClosing: true,
    forceCloseConnections: true,
    frameworkErrors: frameworkError,
  }) as unknown as FastifyInstance;
  // Every route takes JSON; text/plain is the type a cross-site form can send without asking first.
  app.removeContentTypeParser('text/plain');
  installErrorHandling(app);
  // Origin and Host first: a page elsewhere learns nothing, not even whether a token is set.
  installOriginGuard(app, { allowedHosts });
  installBearerAuth(app, apiToken);
  installCharsetCheck(app);
  return app;
}
