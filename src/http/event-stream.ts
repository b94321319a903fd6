/**
 * Streams a numbered event log over HTTP in the two framings of CONTRACT §3, chosen by `Accept`:
 * Server-Sent Events (`id:`/`event:`/`data:`, resume with Last-Event-ID or ?since=, keep-alive comments)
 * or NDJSON (one JSON object a line with `event` and `id`). The stream replays the log from the start
 * (or after the resume point), follows it live, and ends after a terminal event. It is a tail of the
 * stored log, so it works for events written by any process that shares the database.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';

export interface LoggedEvent {
  id: number;
  event: string;
  data: Record<string, unknown>;
}

export interface EventLogSource {
  /** Events with id > afterId, in order (a promise for stores on the async seam). */
  since(afterId: number): LoggedEvent[] | Promise<LoggedEvent[]>;
  /** Calls `notify` whenever new events may be available; returns the unsubscribe function. */
  subscribe(notify: () => void): () => void;
  isTerminal(event: LoggedEvent): boolean;
  /** True once the log has its terminal event: a client resuming after it gets an empty, closed stream. */
  isFinished(): boolean | Promise<boolean>;
}

/** SSE comment interval that keeps proxies from closing an idle stream. */
export const KEEP_ALIVE_MS = 15_000;
/** Re-read the log this often too, for events written by another process. */
export const POLL_MS = 1_000;

export function resumePoint(req: FastifyRequest): number {
  const header = req.headers['last-event-id'];
  const fromHeader = Array.isArray(header) ? header[0] : header;
  const since = (req.query as Record<string, unknown> | undefined)?.since;
  for (const v of [fromHeader, since]) {
    if (v === undefined || v === '') continue;
    const n = Number(v);
    if (Number.isInteger(n) && n >= 0) return n;
  }
  return 0;
}

export function wantsSse(req: FastifyRequest): boolean {
  return (req.headers.accept ?? '').includes('text/event-stream');
}

export function streamEventLog(req: FastifyRequest, reply: FastifyReply, source: EventLogSource): void {
  const sse = wantsSse(req);
  let last = resumePoint(req);
  let ended = false;
  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, {
    'content-type': sse ? 'text/event-stream; charset=utf-8' : 'application/x-ndjson; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
  if (sse) res.write(': stream open\n\n');

  const finish = () => {
    if (ended) return;
    ended = true;
    unsubscribe();
    clearInterval(keepAlive);
    clearInterval(poll);
    res.end();
  };

  // One read at a time: a notify or poll tick that comes while a read is under way asks for one more
  // after it, so no event is written twice or out of order.
  let reading = false;
  let again = false;
  const readOnce = async (): Promise<void> => {
    for (const e of await source.since(last)) {
      if (ended) return;
      last = e.id;
      if (sse) res.write(`id: ${e.id}\nevent: ${e.event}\ndata: ${JSON.stringify(e.data)}\n\n`);
      else res.write(`${JSON.stringify({ ...e.data, event: e.event, id: e.id })}\n`);
      if (source.isTerminal(e)) return finish();
    }
    if (!ended && (await source.isFinished()) && (await source.since(last)).length === 0) finish();
  };
  const pump = (): void => {
    if (ended) return;
    if (reading) {
      again = true;
      return;
    }
    reading = true;
    void (async () => {
      try {
        do {
          again = false;
          await readOnce();
        } while (again && !ended);
      } catch (err) {
        req.log.error({ err }, 'event stream read failed');
        finish();
      } finally {
        reading = false;
      }
    })();
  };

  const unsubscribe = source.subscribe(pump);
  const keepAlive = setInterval(() => {
    if (sse && !ended) res.write(': keep-alive\n\n');
  }, KEEP_ALIVE_MS);
  const poll = setInterval(pump, POLL_MS);
  req.raw.on('close', finish);
  res.on('error', finish);
  pump();
}
