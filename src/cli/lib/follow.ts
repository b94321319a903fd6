/**
 * Following a job to its end for `train` and `status --follow`: events to the chosen output, Ctrl-C
 * stops watching (never the job) and says how to pick it up again, and the exit code tells how the job
 * ended. Shared so both commands behave the same.
 */
import type { ReactorClient } from '../../client/index.js';
import type { JobOutput } from './job-output.js';
import { EXIT } from './exit-codes.js';
import { fmtDuration } from './format.js';

export interface FollowRequest {
  client: ReactorClient;
  jobId: string;
  output: JobOutput;
  /** Appended to the hint commands, e.g. ` --url http://…`, so they reach the same reactor. */
  urlFlag: string;
}

export async function followToExit(req: FollowRequest): Promise<number> {
  const { client, jobId, output } = req;
  const stop = new AbortController();
  let interrupts = 0;
  const onSigint = () => {
    // First Ctrl-C: stop following and explain. A second one means "now": restore the terminal and go.
    if (++interrupts === 1) {
      stop.abort();
      return;
    }
    output.close();
    process.exit(EXIT.INTERRUPTED);
  };
  process.on('SIGINT', onSigint);
  try {
    const end = await client.streamJob(jobId, {
      signal: stop.signal,
      onEvent: (e) => output.event(e),
      onReconnect: ({ attempt, delayMs }) => output.notice(`connection to the reactor lost; reconnecting in ${delayMs < 1000 ? `${delayMs} ms` : fmtDuration(delayMs / 1000)} (attempt ${attempt})`),
      onFallback: () => output.notice('the event stream keeps failing; polling the job status every second instead'),
    });
    if (end.reason === 'aborted') {
      output.interrupted([
        `stopped following job ${jobId}; it keeps running on the reactor.`,
        `  follow it again: trinity status ${jobId} --follow${req.urlFlag}`,
        `  cancel it:       trinity cancel ${jobId}${req.urlFlag}`,
      ]);
      return EXIT.INTERRUPTED;
    }
    output.finished(end.terminal);
    return end.terminal.event === 'completed' ? EXIT.OK : EXIT.FAILED;
  } finally {
    process.removeListener('SIGINT', onSigint);
    output.close();
  }
}
