/**
 * The end state of a run: experience traffic stopped, predictions still flowing (rollouts need outcomes),
 * wait until everything in flight has landed, then count what did not.
 */
import { join } from 'node:path';
import { TERMINAL_DEPLOYMENT, TERMINAL_JOB } from './actions.js';
import { pollUntil } from './cluster.js';
import type { SoakContext } from './context.js';
import { checkCheckpoints, checkModelVersions, countExperiences, pendingEventFiles, rejectedFiles, type FileProblem } from './invariants.js';

export interface SettledState {
  settledInMs: number | null;
  lost: number;
  duplicated: number;
  lostExamples: string[];
  checkpointsChecked: number;
  modelVersionsChecked: number;
  corrupt: FileProblem[];
  stuckJobs: string[];
  failedJobs: string[];
  stuckDeployments: string[];
  pendingFiles: number;
  rejectedFiles: string[];
}

async function snapshot(ctx: SoakContext) {
  const [jobs, jarvisJobs, deployments, outbox] = await Promise.all([ctx.actions.jobs(), ctx.actions.jarvisJobs(), ctx.actions.deployments(), ctx.actions.jarvisOutboxPending()]);
  return {
    stuckJobs: [
      ...jobs.filter((j) => !TERMINAL_JOB.has(j.status)).map((j) => `reactor ${j.job_id} ${j.status} epoch ${j.epoch}/${j.total_epochs}`),
      ...jarvisJobs.filter((j) => j.status === 'queued' || j.status === 'running').map((j) => `jarvis ${j.job_id} ${j.status}`),
    ],
    failedJobs: [
      ...jobs.filter((j) => j.status === 'failed').map((j) => `reactor ${j.job_id}: ${j.error}`),
      ...jarvisJobs.filter((j) => j.status === 'failed').map((j) => `jarvis ${j.job_id}`),
    ],
    stuckDeployments: deployments.filter((d) => !TERMINAL_DEPLOYMENT.has(d.status)).map((d) => `${d.deployment_id} ${d.status} at ${d.current_percentage} %`),
    outbox,
    pendingFiles: pendingEventFiles(ctx.eventsDir).length,
  };
}

/** Waits up to `timeoutMs` for an empty outbox and events folder and no job or deployment in progress. */
export async function settle(ctx: SoakContext, timeoutMs: number): Promise<SettledState> {
  const t0 = performance.now();
  const done = await pollUntil(async () => {
    const s = await snapshot(ctx);
    return s.outbox === 0 && s.pendingFiles === 0 && s.stuckJobs.length === 0 && s.stuckDeployments.length === 0;
  }, timeoutMs, 500);
  const s = await snapshot(ctx);
  const counted = countExperiences(ctx.cluster.home, ctx.ledger);
  const checkpoints = checkCheckpoints(join(ctx.cluster.home, 'training_checkpoints'));
  const models = await checkModelVersions(join(ctx.cluster.home, 'models'));
  return {
    settledInMs: done ? Math.round(performance.now() - t0) : null,
    ...counted,
    checkpointsChecked: checkpoints.checked,
    modelVersionsChecked: models.checked,
    corrupt: [...checkpoints.problems, ...models.problems],
    stuckJobs: s.stuckJobs,
    failedJobs: s.failedJobs,
    stuckDeployments: s.stuckDeployments,
    pendingFiles: s.pendingFiles + (s.outbox ?? 0),
    rejectedFiles: rejectedFiles(ctx.eventsDir),
  };
}
