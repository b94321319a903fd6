/** Public surface of the reactor client: other folders import from here only. */
export { ReactorClient } from './reactor-client.js';
export { PrimeClient, primeStatsSchema, splitAckSchema } from './prime-client.js';
export type { PrimeClientOptions, PrimeStatsWire, SplitAck, SplitRequest } from './prime-client.js';
export { DEPLOYMENT_COMMANDS, DEPLOYMENT_STRATEGIES, DEPLOYMENT_TERMINAL_EVENTS } from './deployment-schemas.js';
export type * from './deployment-schemas.js';
export { followDeployment, isTerminalDeploymentEvent } from './deployment-stream.js';
export type { DeploymentEvent, DeploymentEventData, DeploymentStreamEnd, FollowDeploymentOptions } from './deployment-stream.js';
export {
  ClientInvalidOption,
  ReactorBadResponseError,
  ReactorHttpError,
  ReactorStreamInterrupted,
  ReactorTimeoutError,
  ReactorUnreachableError,
  StreamParseError,
  isRetryable,
} from './errors.js';
export { DEFAULT_TIMEOUT_MS } from './options.js';
export type { FollowJobOptions, ReactorClientOptions, StreamJobOptions } from './options.js';
export { readSse, MAX_SSE_BUFFER_CHARS } from './sse.js';
export type { ReadSseOptions, SseMessage } from './sse.js';
export { ndjsonLines, MAX_NDJSON_LINE_CHARS } from './ndjson.js';
export type { NdjsonOptions } from './ndjson.js';
export {
  TERMINAL_EVENTS,
  isJobEventName,
  isTerminalEvent,
  jobEventFromNdjson,
  jobEventFromSse,
  jobEventToNdjson,
  parseEventId,
  toJobEvent,
} from './job-events.js';
export { snapshotEvents } from './job-poller.js';
export { JOB_STATUSES } from './schemas.js';
export type * from './types.js';
