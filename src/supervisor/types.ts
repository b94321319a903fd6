/**
 * Shapes shared by the supervisor's classes: the services it knows, how each one ended up running,
 * what it reports, and the listener interfaces of ChildPool and Supervisor.
 */

/** The three services, in dependency order: prime reconciles from reactor, jarvis needs both. */
export const SERVICE_NAMES = ['reactor', 'prime', 'jarvis'] as const;
/** `trinity up --workers N` adds training workers worker1 … workerN, started after the reactor. */
export type WorkerName = `worker${number}`;
export type ServiceName = (typeof SERVICE_NAMES)[number] | WorkerName;

export function isWorker(name: ServiceName): name is WorkerName {
  return /^worker\d+$/.test(name);
}

/** The `trinity` command that runs a service. */
export function serviceCommand(name: ServiceName): string {
  return isWorker(name) ? 'worker' : name;
}

/** How a service came to run: launched by us, found running, pointed at elsewhere, or switched off. */
export type ServiceMode = 'started' | 'adopted' | 'external' | 'disabled';

/** Everything the supervisor needs to know about one service before it starts it. */
export interface ServiceSpec {
  name: ServiceName;
  /** The design's name: Reactor-Core, J-Prime, JARVIS. */
  title: string;
  /** What its health body says in `service` (reactor-core, j-prime, jarvis); null for an external J-Prime. */
  serviceId: string | null;
  enabled: boolean;
  /** True when JARVIS_PRIME_URL points at a J-Prime we probe but never launch. */
  external: boolean;
  /** Host it binds (the child's *_HOST); probes go to 127.0.0.1 when it is a wildcard address. */
  host: string;
  /** Configured port; 0 lets the child pick one, learned from its "listening on port N" line. */
  port: number;
  /** Where a running instance is looked for before launching one (config.<service>.url). */
  url: string;
  /** False when the port was 0 (picked for this run): nothing can already be running there. */
  adoptable: boolean;
  /** Health paths, tried in order: the next one only when the previous answers 404. */
  healthPaths: readonly string[];
  /** Milliseconds to wait for `healthy` after launch (60 s reactor, 30 s prime and jarvis by default). */
  timeoutMs: number;
}

/** One service in the startup summary. */
export interface ServiceReport {
  name: ServiceName;
  title: string;
  mode: ServiceMode;
  pid: number | null;
  port: number | null;
  url: string | null;
  /** Milliseconds from launch (or first probe, for adopted and external ones) to a healthy answer. */
  healthyAfterMs: number | null;
  /** Resident memory in bytes, read from /proc; null when its process could not be found. */
  memoryBytes: number | null;
  /** Last health status seen: healthy, degraded, starting, down, or disabled. */
  status: string;
  /** The service's own `problems`, or why it is down. */
  problems: string[];
}

/** One integration check of phase 3; `ok: null` means it was skipped (a service it needs is off). */
export interface CheckResult {
  name: string;
  ok: boolean | null;
  detail: string;
}

/** Deployed versions of one model type, from reactor's GET /api/models. */
export interface DeployedModel {
  modelType: string;
  stable: string | null;
  canary: string | null;
  canaryPercentage: number;
}

export interface UpReport {
  services: ServiceReport[];
  checks: CheckResult[];
  /** null when reactor is off or its model list could not be read. */
  models: DeployedModel[] | null;
  /** Empty in FULL MODE; otherwise one reason per degraded part. */
  degraded: string[];
}

/** Why `trinity up` could not start everything: the failing probe and the service's last output. */
export interface StartFailure {
  service: ServiceName;
  title: string;
  /** One line: what went wrong (exited with code 1, no healthy answer within 60 s, …). */
  reason: string;
  /** The last probe, as `GET <url> → <answer>`; null when none was made. */
  probe: string | null;
  /** The service's last output lines (stdout and stderr), oldest first. */
  lastLines: string[];
  /** Where the service's full log is. */
  logFile: string | null;
  /** True when a signal stopped the start, not the service. */
  aborted: boolean;
}

export type UpOutcome = { ok: true; report: UpReport } | { ok: false; failure: StartFailure };

/** Which output stream of a child a line came from. */
export type ChildStream = 'stdout' | 'stderr';

export interface ChildExit {
  pid: number;
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** Events of ChildPool: output, unexpected exits and restarts of the services it launched. */
export interface ChildPoolListener {
  line: (service: ServiceName, line: string, stream: ChildStream) => void;
  /** A supervised child exited without being asked to. */
  crashed: (service: ServiceName, exit: ChildExit) => void;
  /** A restart is scheduled after `delayMs` (exponential backoff). */
  restarting: (service: ServiceName, attempt: number, delayMs: number) => void;
  /** The restarted child answers healthy again. */
  restarted: (service: ServiceName, pid: number, attempt: number, healthyAfterMs: number) => void;
  /** A restart attempt did not come up; another one follows with a longer delay. */
  restartFailed: (service: ServiceName, attempt: number, reason: string) => void;
}

/** What the supervisor says while it works; the `up` command turns these into terminal lines. */
export interface SupervisorListener extends ChildPoolListener {
  phase: (index: number, title: string) => void;
  /** Progress of one service: `info` (→), `ok` (✓), `fail` (✗), `warn` (!). */
  step: (service: ServiceName | null, kind: StepKind, message: string) => void;
}

export type StepKind = 'info' | 'ok' | 'fail' | 'warn';

export type Listeners<L> = { [K in keyof L]?: Array<L[K]> };
