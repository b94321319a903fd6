/**
 * The `trinity` program: commander set up once (output streams, usage errors → exit 2), the commands
 * from commands/index.ts registered on it, and one place where failures become an error line and an
 * exit code. `runCli` never calls process.exit, so it can run in-process too.
 */
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { COMMANDS } from './commands/index.js';
import { createContext, println, type CliContext, type CliIo } from './context.js';
import { describeError, formatErrorLine } from './lib/errors.js';
import { EXIT } from './lib/exit-codes.js';

function packageVersion(): string {
  try {
    // dist/cli/program.js and src/cli/program.ts both sit two levels under the package root.
    const pkg: unknown = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
    return typeof pkg === 'object' && pkg !== null && 'version' in pkg && typeof pkg.version === 'string' ? pkg.version : '0.0.0';
  } catch {
    return '0.0.0';
  }
}

export function createProgram(ctx: CliContext): Command {
  const program = new Command('trinity')
    .description('continuous learning for a personal AI assistant: Reactor-Core trains, J-Prime serves, JARVIS coordinates')
    .version(packageVersion(), '-V, --version', 'print the version')
    .helpOption('-h, --help', 'show help for a command')
    .helpCommand('help [command]', 'show help for a command')
    .showHelpAfterError('(run `trinity --help` for usage)')
    .configureOutput({
      writeOut: (s) => void ctx.io.stdout.write(s),
      writeErr: (s) => void ctx.io.stderr.write(s),
    })
    // Throw instead of exiting so runCli picks the exit code (2 for usage errors) in one place.
    .exitOverride();
  for (const register of COMMANDS) register(program, ctx);
  return program;
}

/** Runs `trinity` with `argv` (as process.argv: node, script, args…) and returns the exit code. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const ctx = createContext(io);
  const program = createProgram(ctx);
  try {
    await program.parseAsync([...argv]);
    return ctx.exitCode;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and --version "fail" with exit code 0; anything else commander rejects is a usage error
      // whose message it has already printed.
      return err.exitCode === 0 ? EXIT.OK : EXIT.USAGE;
    }
    const report = describeError(err);
    println(io.stderr, formatErrorLine(report));
    return report.exitCode;
  }
}
