/** The rollout's public surface: other folders import from here only. */
export { DeploymentService, DEFAULT_TICK_MS } from './deployment-service.js';
export { initialStatus, intentEffect, pointersFor, reconcile, rollbackByOperator } from './controller.js';
export { parseDeployRequest, parseRollbackRequest, planSteps, DEFAULT_MONITOR_DURATION_SECONDS, DEFAULT_ROLLBACK_ON_ERROR_RATE, DEFAULT_STRATEGY } from './deploy-request.js';
export type { DeployRequest, RolloutDefaults } from './deploy-request.js';
export { evaluateGate, MAX_VAL_ACCURACY_DROP } from './gate.js';
export { isBreached, normalQuantile, twoProportionZTest } from './measure.js';
export { attribute, diffStats } from './stats-accumulator.js';
export type { PrimeStats, StatsMark } from './stats-accumulator.js';
export { createDeploymentService } from './create.js';
export type { DeploymentWire } from './wire.js';
export { ACTIVE_PHASES, INTENTS, PHASES, STRATEGIES, TERMINAL_EVENTS, TERMINAL_PHASES } from './types.js';
export type * from './types.js';
