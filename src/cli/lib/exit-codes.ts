/** Exit codes of `trinity`, the same for every command. */
export const EXIT = {
  /** Done; for `train`/`--follow`, the job completed. */
  OK: 0,
  /** The job failed or was cancelled, or the reactor refused or could not be reached. */
  FAILED: 1,
  /** Bad command line, option value, input file or environment variable. */
  USAGE: 2,
  /** Ctrl-C while following a job: we stopped watching, the job itself goes on (128 + SIGINT). */
  INTERRUPTED: 130,
} as const;
