/** `trinity up`'s public surface: the supervisor, its plan, and the terminal formatting of its output. */
export { Supervisor, DEFAULT_BIN_PATH } from './supervisor.js';
export type { SupervisorOptions } from './supervisor.js';
export { createPlan, localUrl, DEFAULT_TIMEOUTS_MS, START_PERIOD_MS, DEGRADED_GRACE_MS, MAX_UP_WORKERS } from './plan.js';
export type { UpPlan } from './plan.js';
export { ChildPool, STOP_GRACE_MS, RESTART_BASE_MS, RESTART_MAX_MS, STABLE_AFTER_MS, describeExit } from './child-pool.js';
export { formatLogLine, servicePrefix, paint } from './log-format.js';
export { formatSummary, formatFailure, formatModels, summaryRecord, RULE } from './summary.js';
export { probeHealth, describeProbe, PROBE_TIMEOUT_MS } from './probe.js';
export { pidListeningOn } from './proc-info.js';
export type * from './types.js';
