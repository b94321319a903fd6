/**
 * Parsers for option values and the options several commands share. A bad value is a commander
 * InvalidArgumentError, so it is reported like any other usage error (exit 2) and names the option.
 */
import { InvalidArgumentError, type Command } from 'commander';

export function parsePositiveInt(value: string): number {
  const n = Number(value);
  if (!/^\s*\d+\s*$/.test(value) || !Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError('expected a positive integer.');
  return n;
}

export function parsePositiveNumber(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('expected a positive number.');
  return n;
}

export function parseHttpUrl(value: string): string {
  try {
    const u = new URL(value);
    if (u.protocol === 'http:' || u.protocol === 'https:') return value.replace(/\/+$/, '');
  } catch {
    // fall through to the message below
  }
  throw new InvalidArgumentError('expected an http(s) URL like http://127.0.0.1:8090.');
}

/** `--url`: every command that talks to the reactor takes it. */
export function addReactorUrlOption(cmd: Command): Command {
  return cmd.option('--url <url>', 'reactor base URL (default: from REACTOR_CORE_API_URL or REACTOR_CORE_HOST/PORT)', parseHttpUrl);
}

export interface ReactorUrlOption {
  url?: string;
}

/** `--url <url>` as the user typed it, to repeat in "run this next" hints. */
export function urlFlag(o: ReactorUrlOption): string {
  return o.url === undefined ? '' : ` --url ${o.url}`;
}
