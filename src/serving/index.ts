/** The serving layer's public surface (J-Prime). Other folders import from here only. */
export { ModelServer, DEFAULT_FAILED_RETRY_MS, DEFAULT_FAILURE_VISIBLE_MS, DEFAULT_PREDICTION_MEMORY } from './model-server.js';
export { InflightCounter } from './inflight.js';
export { ROUTING_BUCKETS, canaryBucketLimit, fnv1a32, sessionBucket } from './session-hash.js';
export { normalizeSpec } from './hot-swap.js';
export type {
  ApplyMode,
  FeedbackOutcome,
  LoadFailure,
  ModelServerOptions,
  PredictOutcome,
  ServingLogger,
  SplitSpec,
  SplitView,
  StatsWire,
  VersionCountsWire,
} from './types.js';
