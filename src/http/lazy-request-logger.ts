/**
 * The logger Fastify gives each request (`req.log`), made only when the request logs something. pino's
 * child() serialises its bindings ({reqId}) at once, ~1 µs per request in a busy prime, and almost no
 * request logs anything (request logging is off; errors are the exception). Methods live on the
 * prototype, so a request costs one small object.
 */
import type { FastifyBaseLogger } from 'fastify';
import type { Bindings, ChildLoggerOptions } from 'pino';

type LogCall = (...args: unknown[]) => void;
const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
type Level = (typeof LEVELS)[number];

export class LazyRequestLogger {
  private made: FastifyBaseLogger | undefined;

  constructor(
    private readonly parent: FastifyBaseLogger,
    private readonly bindings: Bindings,
    private readonly options: ChildLoggerOptions,
  ) {}

  /** The parent's child, made now if it was not yet. */
  get log(): FastifyBaseLogger {
    return (this.made ??= this.parent.child(this.bindings, this.options));
  }

  get level(): string {
    return this.log.level;
  }
  set level(level: string) {
    this.log.level = level;
  }

  child(bindings: Bindings, options?: ChildLoggerOptions): FastifyBaseLogger {
    return this.log.child(bindings, options);
  }
}

// One method per level on the prototype (fatal … silent), each passing its call to the child.
for (const level of LEVELS) {
  (LazyRequestLogger.prototype as unknown as Record<Level, LogCall>)[level] = function (this: LazyRequestLogger, ...args: unknown[]): void {
    const log = this.log;
    (log[level] as LogCall).apply(log, args);
  };
}

/** Fastify's `childLoggerFactory` option. */
export function lazyRequestLogger(parent: FastifyBaseLogger, bindings: Bindings, options: ChildLoggerOptions): FastifyBaseLogger {
  return new LazyRequestLogger(parent, bindings, options) as unknown as FastifyBaseLogger;
}
