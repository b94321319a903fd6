/**
 * Following a rollout to its end for `trinity deploy`: each decision as a line (or a JSON line), Ctrl-C
 * stops watching (never the rollout) and says how to act on it, and the exit code tells how it ended:
 * 0 completed, 1 rolled back or aborted.
 */
import type { ReactorClient } from '../../client/index.js';
import { println, type CliIo } from '../context.js';
import { EXIT } from './exit-codes.js';
import { formatDecisionLine, formatDeployEnd } from './format-deployment.js';

export interface FollowDeploymentRequest {
  client: ReactorClient;
  io: CliIo;
  deploymentId: string;
  modelType: string;
  json: boolean;
  /** Appended to hint commands, e.g. ` --url http://…`. */
  urlFlag: string;
}

export async function followDeploymentToExit(req: FollowDeploymentRequest): Promise<number> {
  const { client, io, deploymentId } = req;
  const stop = new AbortController();
  const onSigint = () => stop.abort();
  process.once('SIGINT', onSigint);
  try {
    const events = client.deploymentEvents(deploymentId, {
      signal: stop.signal,
      onReconnect: ({ attempt, delayMs }) => println(io.stderr, `connection to the reactor lost; reconnecting in ${delayMs} ms (attempt ${attempt})`),
    });
    for (;;) {
      const step = await events.next();
      if (step.done) {
        const end = step.value;
        if (end.reason === 'aborted') {
          println(io.stderr, `stopped following deployment ${deploymentId}; it goes on on the reactor.`);
          println(io.stderr, `  roll it back: trinity rollback ${req.modelType}${req.urlFlag}`);
          return EXIT.INTERRUPTED;
        }
        if (!req.json) for (const l of formatDeployEnd(end.terminal, deploymentId)) println(io.stdout, l);
        return end.terminal.event === 'completed' ? EXIT.OK : EXIT.FAILED;
      }
      const e = step.value;
      println(io.stdout, req.json ? JSON.stringify({ event: e.event, id: e.id, ...e.data }) : formatDecisionLine(e));
    }
  } finally {
    process.removeListener('SIGINT', onSigint);
  }
}
