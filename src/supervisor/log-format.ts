/**
 * Children's output for a terminal: each pino JSON line becomes
 * `reactor │ 12:00:01 INFO  training job completed job_id=…`, other lines keep their text behind the
 * same prefix. A hand-written formatter rather than pino-pretty: we need one line per record with our
 * own prefix, and pino-pretty's multi-line object dumps would break the columns.
 */
import type { ServiceName } from './types.js';

/** Width of the service column: the longest name (reactor). */
const NAME_WIDTH = 7;

const LEVELS: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };

/** Fields every record carries or that the line shows elsewhere. */
const HIDDEN = new Set(['level', 'time', 'msg', 'pid', 'hostname', 'service', 'v']);

/** One value in `key=value` form: longer than this and it is cut, so one record stays one line. */
const MAX_VALUE_CHARS = 200;

const ANSI = {
  reset: '\x1b[0m',
  dim: '\x1b[2m',
  red: '\x1b[31m',
  green: '\x1b[32m',
  yellow: '\x1b[33m',
  blue: '\x1b[34m',
  magenta: '\x1b[35m',
  cyan: '\x1b[36m',
} as const;

const SERVICE_COLOURS: Record<string, string> = { reactor: ANSI.magenta, prime: ANSI.cyan, jarvis: ANSI.blue };

export interface FormatOptions {
  /** ANSI colours (a TTY without NO_COLOR). Default false. */
  colour?: boolean;
}

export function paint(colour: boolean, code: keyof typeof ANSI, text: string): string {
  return colour ? `${ANSI[code]}${text}${ANSI.reset}` : text;
}

/** `reactor │ ` with the service's colour. */
export function servicePrefix(service: ServiceName, opts: FormatOptions = {}): string {
  const name = service.padEnd(NAME_WIDTH);
  return `${opts.colour ? `${SERVICE_COLOURS[service] ?? ANSI.green}${name}${ANSI.reset}` : name} │ `;
}

/** Formats one output line of `service`; JSON records become one readable line. */
export function formatLogLine(service: ServiceName, line: string, opts: FormatOptions = {}): string {
  return servicePrefix(service, opts) + formatRecord(line, opts.colour ?? false);
}

function formatRecord(line: string, colour: boolean): string {
  const record = parseRecord(line);
  if (!record) return line;
  const level = typeof record.level === 'number' ? (LEVELS[record.level] ?? String(record.level)) : 'INFO';
  const time = typeof record.time === 'number' ? clock(record.time) : '--:--:--';
  const msg = typeof record.msg === 'string' ? record.msg : '';
  const fields = Object.entries(record)
    .filter(([k]) => !HIDDEN.has(k))
    .map(([k, v]) => `${k}=${formatValue(k, v)}`);
  const levelText = paint(colour, levelColour(level), level.padEnd(5));
  return [paint(colour, 'dim', time), levelText, msg, ...fields.map((f) => paint(colour, 'dim', f))].filter(Boolean).join(' ');
}

function parseRecord(line: string): Record<string, unknown> | null {
  if (!line.startsWith('{')) return null;
  try {
    const v: unknown = JSON.parse(line);
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

function levelColour(level: string): keyof typeof ANSI {
  if (level === 'ERROR' || level === 'FATAL') return 'red';
  if (level === 'WARN') return 'yellow';
  if (level === 'INFO') return 'green';
  return 'dim';
}

/** Local wall-clock time HH:MM:SS, as an operator's terminal shows it. */
function clock(ms: number): string {
  const d = new Date(ms);
  return [d.getHours(), d.getMinutes(), d.getSeconds()].map((n) => String(n).padStart(2, '0')).join(':');
}

function formatValue(key: string, v: unknown): string {
  // pino serialises errors as {type, message, stack}: the message is what a terminal reader needs.
  if (key === 'err' && typeof v === 'object' && v !== null && 'message' in v && typeof v.message === 'string') return quote(v.message);
  const text = typeof v === 'string' ? quote(v) : JSON.stringify(v) ?? String(v);
  return text.length > MAX_VALUE_CHARS ? `${text.slice(0, MAX_VALUE_CHARS - 1)}…` : text;
}

function quote(s: string): string {
  return /[\s"=]/.test(s) || s === '' ? JSON.stringify(s) : s;
}
