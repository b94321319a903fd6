/**
 * The logger Fastify gives each request (`req.log`), made only when the request logs something. pino's
 * child() serialises its bindings ({reqId}) at once, ~1 µs per request in a busy prime, and almost no
 * request logs anything (request logging is off; errors are the exception). Methods live on the
 * prototype, so a request costs one small object.
 */
import type { FastifyBaseLogger } from 'fastify';
import type { Bindings, ChildLoggerOptions } from 'pino';

type LogCall = (...args: unknown[]) => void;

export class LazyRequestLogger {
  private made: FastifyBaseLogger | undefined;

  constructor(
    private readonly parent: FastifyBaseLogger,
    private readonly bindings: Bindings,
    private readonly options: ChildLoggerOptions,
  ) {}

  private get log(): FastifyBaseLogger {
    return (this.made ??= this.parent.child(this.bindings, this.options));
  }

  get level(): string {
    return this.log.level;
  }
  set level(level: string) {
    this.log.level = level;
  }

  fatal(...args: unknown[]): void {
    const log = this.log;
    (log.fatal as LogCall).apply(log, args);
  }
  error(...args: unknown[]): void {
    const log = this.log;
    (log.error as LogCall).apply(log, args);
  }
  warn(...args: unknown[]): void {
    const log = this.log;
    (log.warn as LogCall).apply(log, args);
  }
  info(...args: unknown[]): void {
    const log = this.log;
    (log.info as LogCall).apply(log, args);
  }
  debug(...args: unknown[]): void {
    const log = this.log;
    (log.debug as LogCall).apply(log, args);
  }
  trace(...args: unknown[]): void {
    const log = this.log;
    (log.trace as LogCall).apply(log, args);
  }
  silent(...args: unknown[]): void {
    const log = this.log;
    (log.silent as LogCall).apply(log, args);
  }

  child(bindings: Bindings, options?: ChildLoggerOptions): FastifyBaseLogger {
    return this.log.child(bindings, options);
  }
}

/** Fastify's `childLoggerFactory` option. */
export function lazyRequestLogger(parent: FastifyBaseLogger, bindings: Bindings, options: ChildLoggerOptions): FastifyBaseLogger {
  return new LazyRequestLogger(parent, bindings, options) as unknown as FastifyBaseLogger;
}
