/**
 * Each service logs JSON (pino) to JARVIS_HOME/logs/<service>.log and, when asked, to stdout as well.
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

export function createLogger({ service, level, logDir, stdout = false }: LoggerOptions): Logger {
  const streams: pino.StreamEntry[] = [];
  if (logDir) {
    ensureDir(logDir);
    streams.push({ level: level as pino.Level, stream: pino.destination({ dest: join(logDir, `${service}.log`), mkdir: true, sync: false, mode: 0o600 }) });
  }
  if (stdout) streams.push({ level: level as pino.Level, stream: pino.destination(1) });
  if (streams.length === 0) return pino({ level: 'silent' });
  return pino({ level, base: { service, pid: process.pid } }, pino.multistream(streams));
}
