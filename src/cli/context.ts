/**
 * What every command gets: the output streams, the configuration (parsed on first use, so `--help`
 * works even when the environment is broken) and a reactor client built from it.
 */
import { ReactorClient } from '../client/index.js';
import { parseConfig, type Config, type Env } from '../config/config.js';

/** A stream the CLI writes to; `isTTY` decides between the live bar and plain lines. */
export type OutStream = NodeJS.WritableStream & { isTTY?: boolean; columns?: number };

export interface CliIo {
  stdout: OutStream;
  stderr: OutStream;
  env: Env;
}

export interface CliContext {
  readonly io: CliIo;
  /** The resolved configuration; throws ConfigInvalid (exit 2) naming the bad variable. */
  config(): Config;
  /** A client for `url`, or for config.reactor.url; sends config.apiToken as the bearer token. */
  reactor(url?: string): ReactorClient;
  /** The process exit code once the command returns; commands set it through `action()`. */
  exitCode: number;
}

export function createContext(io: CliIo): CliContext {
  let config: Config | undefined;
  return {
    io,
    exitCode: 0,
    config() {
      config ??= parseConfig(io.env);
      return config;
    },
    reactor(url) {
      const c = this.config();
      return new ReactorClient({ baseUrl: url ?? c.reactor.url, token: c.apiToken });
    },
  };
}

/** Writes one line to `stream`. */
export function println(stream: OutStream, line = ''): void {
  stream.write(line + '\n');
}
