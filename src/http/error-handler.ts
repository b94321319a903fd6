/**
 * One error handler for every service: every failure becomes `{error, details, code}` with a 4xx/5xx
 * status. Bad input is never a 500: Fastify's own validation and parsing errors are mapped to 400/413/415.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { TrinityError, HttpNotFound } from '../errors.js';

export interface ErrorBody {
  error: string;
  details: string;
  code: string;
  [extra: string]: unknown;
}

export function toErrorBody(err: TrinityError): ErrorBody {
  return { error: err.message, details: detailsOf(err), code: err.code, ...err.extra };
}

function detailsOf(err: TrinityError): string {
  const d = err.extra.details;
  return typeof d === 'string' ? d : err.message;
}

export function installErrorHandling(app: FastifyInstance): void {
  app.setNotFoundHandler((req: FastifyRequest, reply: FastifyReply) => {
    const err = HttpNotFound(req.method, req.url.split('?')[0]);
    void reply.code(404).send(toErrorBody(err));
  });

  app.setErrorHandler((error: FastifyError | TrinityError, req: FastifyRequest, reply: FastifyReply) => {
    if (error instanceof TrinityError) {
      if (error.statusCode >= 500) req.log.error({ err: error }, error.message);
      void reply.code(error.statusCode).send(toErrorBody(error));
      return;
    }
    const fe = error as FastifyError;
    const status = typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500 ? fe.statusCode : 500;
    if (status === 500) {
      req.log.error({ err: error }, 'unhandled error');
      void reply.code(500).send({ error: 'internal error', details: 'see the service log', code: 'TRN_ERR_INTERNAL' });
      return;
    }
    const code = fe.code ?? 'TRN_ERR_HTTP_BAD_REQUEST';
    const short =
      fe.code === 'FST_ERR_CTP_BODY_TOO_LARGE'
        ? 'request body too large'
        : fe.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE'
          ? 'unsupported content type; send application/json'
          : fe.validation
            ? 'invalid request'
            : 'bad request';
    void reply.code(status).send({ error: short, details: fe.message, code });
  });
}
