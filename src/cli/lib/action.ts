/**
 * Glue between commander and a command's body: the body returns its exit code, errors propagate to
 * `runCli`, which prints them. Keeps the exit code in one place instead of process.exitCode writes.
 */
import type { CliContext } from '../context.js';

export function action<A extends unknown[]>(ctx: CliContext, body: (...args: A) => Promise<number | void>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    const code = await body(...args);
    if (typeof code === 'number') ctx.exitCode = code;
  };
}
