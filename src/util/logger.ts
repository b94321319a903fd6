/**
 * Each service logs JSON (pino) to JARVIS_HOME/logs/<service>.log and, when asked, to stdout as well.
 *
 * Both destinations write synchronously. An asynchronous one is flushed by pino in a `process.exit`
 * hook, and that flush retries a failed write forever (EPIPE once the supervisor holding our stdout
 * has died, ENOSPC on a full disk): the service would hang at exit. A write error is reported once on
 * stderr and never stops the service.
 */
import { join } from 'node:path';
import pino, { type Logger } from 'pino';
import { ensureDir } from './fs.js';

export interface LoggerOptions {
  service: string;
  level: string;
  /** Folder for <service>.log; no file when absent. */
  logDir?: string;
  /** Also write to stdout (the foreground `trinity <service>` commands). */
  stdout?: boolean;
}

function destination(dest: string | number, what: string, extra: { mkdir?: boolean; mode?: number } = {}): pino.DestinationStream {
  const stream = pino.destination({ dest, sync: true, ...extra });
  let reported = false;
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (reported || err.code === 'EPIPE') return; // a closed stdout: nobody is left to read it
    reported = true;
    try {
      process.stderr.write(`log ${what} is not writable (${err.code ?? err.message}); later lines may be lost\n`);
    } catch {
      // stderr is gone as well
    }
  });
  return stream;
}

export function createLogger({ service, level, logDir, stdout = false }: LoggerOptions): Logger {
  const streams: pino.StreamEntry[] = [];
  if (logDir) {
    ensureDir(logDir);
    const file = join(logDir, `${service}.log`);
    streams.push({ level: level as pino.Level, stream: destination(file, file, { mkdir: true, mode: 0o600 }) });
  }
  if (stdout) streams.push({ level: level as pino.Level, stream: destination(1, 'stdout') });
  if (streams.length === 0) return pino({ level: 'silent' });
  return pino({ level, base: { service, pid: process.pid } }, pino.multistream(streams));
}
