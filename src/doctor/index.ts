/** `trinity doctor`: what would stop training on this machine, each with its fix. */
export type * from './types.js';
export { runChecks, blocksTraining, MIN_NODE, MIN_FREE_DISK_BYTES, MIN_FREE_DISK_SHARE, NEVER_MIN_EXPERIENCES, LONG_CHECK_INTERVAL_SECONDS } from './checks.js';
export { gatherFacts, memoryNeeds, homeFact, portFacts, stoppedDatabaseHolders, DOCTOR_PROBE_MS, DEMO_JOB_EXPERIENCES, type GatherOptions } from './facts.js';
