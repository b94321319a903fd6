/**
 * Turning any failure into one line on stderr that says what to do next, plus an exit code.
 * Commands throw; only this file decides how an error reads to the user.
 */
import {
  ReactorBadResponseError,
  ReactorHttpError,
  ReactorStreamInterrupted,
  ReactorTimeoutError,
  ReactorUnreachableError,
  StreamParseError,
} from '../../client/index.js';
import { ConfigInvalid, TrinityError } from '../../errors.js';
import { EXIT } from './exit-codes.js';

/** A bad option value or input file: the user can fix the command line. */
export class CliUsageError extends TrinityError {
  constructor(message: string, cause?: unknown) {
    super('TRN_ERR_CLI_USAGE', 400, message, {}, cause);
    this.name = 'CliUsageError';
  }
}

export interface ErrorReport {
  message: string;
  /** What to do about it; empty when the message says it all. */
  hint: string;
  exitCode: number;
}

export function describeError(err: unknown): ErrorReport {
  if (err instanceof TrinityError && err.code === ConfigInvalid.code) {
    return { message: err.message, hint: 'fix or unset the environment variable named above', exitCode: EXIT.USAGE };
  }
  if (err instanceof CliUsageError) return { message: err.message, hint: '', exitCode: EXIT.USAGE };
  if (err instanceof ReactorUnreachableError) {
    return {
      message: err.message,
      hint: 'start it with `trinity reactor` or `trinity up`, or point --url (REACTOR_CORE_API_URL) at a running reactor',
      exitCode: EXIT.FAILED,
    };
  }
  if (err instanceof ReactorTimeoutError) {
    return { message: err.message, hint: 'it may be overloaded; check it with `trinity jobs` or its log', exitCode: EXIT.FAILED };
  }
  if (err instanceof ReactorHttpError) return describeHttpError(err);
  if (err instanceof ReactorBadResponseError || err instanceof StreamParseError) {
    return { message: err.message, hint: 'is --url (REACTOR_CORE_API_URL) really a Trinity reactor?', exitCode: EXIT.FAILED };
  }
  if (err instanceof ReactorStreamInterrupted) {
    return { message: err.message, hint: 'the job goes on; follow it again with `trinity status <job_id> --follow`', exitCode: EXIT.FAILED };
  }
  if (err instanceof TrinityError) return { message: err.message, hint: '', exitCode: EXIT.FAILED };
  const message = err instanceof Error ? err.message : String(err);
  return { message: `unexpected error: ${message}`, hint: '', exitCode: EXIT.FAILED };
}

function describeHttpError(err: ReactorHttpError): ErrorReport {
  const message = `reactor answered ${err.status}: ${err.message}`;
  const report = (hint: string, exitCode: number = EXIT.FAILED): ErrorReport => ({ message, hint, exitCode });
  if (err.status === 401 || err.status === 403) return report('set TRINITY_API_TOKEN to the token the reactor was started with');
  if (err.code === 'TRN_ERR_TRAINING_JOB_NOT_FOUND' || (err.status === 404 && /job/i.test(err.error))) {
    return report('list recent jobs with `trinity jobs`');
  }
  if (err.code === 'TRN_ERR_TRAINING_NO_DATA') {
    return report('pass --file data.jsonl, or send experiences to the reactor first (drop files in JARVIS_HOME/trinity/events/)', EXIT.USAGE);
  }
  if (err.status === 413) return report('the request is larger than the reactor accepts (MAX_REQUEST_BODY_MB); split the file', EXIT.USAGE);
  if (err.status === 503 && typeof err.body?.retry_after_seconds === 'number') {
    const active = typeof err.body.active_job_id === 'string' ? ` (running: ${err.body.active_job_id})` : '';
    return report(`the training queue is full${active}; try again in ${err.body.retry_after_seconds}s`);
  }
  // The request itself was wrong (bad model type, bad field): the reactor's details name the field.
  if (err.status === 400 || err.status === 422) return report('', EXIT.USAGE);
  if (err.status < 500) return report('');
  return report('see the reactor log for details');
}

/** `trinity: <message> — <hint>`, the one error line every command prints. */
export function formatErrorLine(r: ErrorReport): string {
  return `trinity: ${r.message}${r.hint ? ` — ${r.hint}` : ''}`;
}
