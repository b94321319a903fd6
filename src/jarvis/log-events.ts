/**
 * Everything the coordinator's classes report, written to the service log: a job's waiting reason
 * appears here the moment it changes (CONTRACT §6), next to placements, starts, progress and outcomes.
 */
import type { Logger } from 'pino';
import type { CoordinatorJob } from '../coordinator/index.js';
import type { CoordinatorParts } from './assemble.js';

const job = (j: CoordinatorJob) => ({ job_id: j.jobId, model_type: j.modelType });

export function logCoordinatorEvents(p: CoordinatorParts, logger: Logger): void {
  const { runner, worker, forwarder, auto, lock } = p;
  runner.on('placed', (j, pl) => (pl.warning ? logger.warn({ ...job(j), placement: pl }, pl.warning) : logger.info({ ...job(j), placement: pl }, `placement: ${pl.reason}`)));
  runner.on('waiting', (j, reason) => logger.info({ ...job(j), reason }, reason));
  runner.on('reserved', (j, summary) => logger.info({ ...job(j) }, `resources reserved: ${summary}`));
  runner.on('started', (j, id, token) => logger.info({ ...job(j), reactor_job_id: id, fencing_token: token }, 'training started at Reactor-Core'));
  runner.on('resumed', (j, id) => logger.info({ ...job(j), reactor_job_id: id }, 'following a reactor job an earlier holder started'));
  runner.on('progress', (j, pr) => logger.debug({ ...job(j), ...pr }, 'training progress'));
  runner.on('deployed', (j, d) =>
    d.status === 'deploying' || d.status === 'completed' ? logger.info({ ...job(j), deployment: d }, 'deployment requested') : logger.warn({ ...job(j), deployment: d }, `deployment ${d.status}: ${d.error ?? ''}`),
  );
  runner.on('finished', (j, o) => {
    if (o.kind === 'completed') logger.info({ ...job(j), model_version: o.modelVersion }, 'training job completed');
    else if (o.kind === 'failed') logger.warn({ ...job(j), error: o.error }, 'training job failed');
    else if (o.kind === 'requeued') logger.warn({ ...job(j), reason: o.reason }, o.reason);
    else logger.warn({ ...job(j), reason: o.reason }, 'lost the training_slot lease while running the job; another holder takes it over');
  });
  worker.on('reactor', (problem) => (problem ? logger.warn({ problem }, problem) : logger.info('Reactor-Core is usable again')));
  worker.on('slotTimeout', (holders, waited) =>
    logger.warn({ holders, waited_ms: waited }, `training_slot not granted within TRAINING_SLOT_TIMEOUT; held by ${holders.map((h) => h.holder).join(', ')}; trying again`),
  );
  worker.on('recovered', (r) => logger.warn({ ...job(r.job), requeued: r.requeued, holder: r.job.holder }, 'a running job lost its holder; put back in the queue'));
  worker.on('error', (err) => logger.error({ err }, 'training worker error'));
  lock.on('lost', (lease) => logger.warn({ lease }, 'lease on training_slot lost'));
  forwarder.on('forwarded', (f) => logger.debug({ ...f }, 'experience file written'));
  forwarder.on('failed', (err) => logger.warn({ err }, `${err.message}; the experiences wait in the outbox`));
  auto.on('triggered', (j, n) => logger.info({ ...job(j), new_experiences: n }, 'auto-trigger queued a training job'));
  auto.on('checked', (c) => {
    if (c.error) logger.warn({ error: c.error }, `auto-trigger could not read reactor's experience stats: ${c.error}`);
  });
}
