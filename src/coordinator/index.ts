/** Public surface of the Advanced Training Coordinator: other folders import from here only. */
export * from './types.js';
export { parseTriggerRequest, parsePriority, priorityName, defaultPriority, MAX_TRIGGER_EPOCHS, type TriggerRequest } from './trigger-request.js';
export { collectExperiences, type CollectedBody } from './collect.js';
export { ExperienceForwarder, CLAIM_SECONDS, type ExperienceForwarderOptions, type ExperienceForwarderEvents, type ForwardedFile, type ForwarderStatus } from './experience-forwarder.js';
export { ReactorLink, isOutage, describeError, type ReactorLinkOptions } from './reactor-link.js';
export { postDeploy, type DeployBody } from './deploy-call.js';
export { evaluateResources, gb, type ResourceSnapshot, type ResourceLimits, type ServiceFigures, type SourceKind } from './resource-rule.js';
export { ResourceProbe, PRIME_TIMEOUT_MS, type ResourceProbeOptions } from './resource-probe.js';
export { ResourceGate, type ResourceGateOptions, type Reservation } from './resource-gate.js';
export { decidePlacement, estimateDataSize, DEFAULT_EXPERIENCE_BYTES, type PlacementPolicy, type DataSize } from './placement.js';
export { LeaseLock, TRAINING_SLOT, RENEWALS_PER_TTL, type LeaseLockOptions, type LeaseLockEvents, type KeepAlive } from './lease-lock.js';
export { JobQueue, newJobId, type JobQueueOptions, type JobQueueEvents, type EnqueueRequest } from './job-queue.js';
export { toJobWire } from './job-wire.js';
export { deployBody, requestDeployment, ROLLBACK_ON_ERROR_RATE, type DeployPolicy } from './after-training.js';
export { JobRunner, type JobRunnerOptions, type JobRunnerEvents } from './job-runner.js';
export { TrainingWorker, LOCK_POLL_MS, IDLE_POLL_MS, type TrainingWorkerOptions, type TrainingWorkerEvents } from './training-worker.js';
export { AutoTrigger, type AutoTriggerOptions, type AutoTriggerEvents, type AutoCheck } from './auto-trigger.js';
export { followToEnd, waitForReactor, MAX_TIMER_MS, type FollowOptions } from './follow.js';
