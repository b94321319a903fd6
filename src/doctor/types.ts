/** What `trinity doctor` looks at (gathered once, see facts.ts) and what each check makes of it (checks.ts). */

/** `fail` stops training on this machine; `warn` slows or limits it; `ok` is fine. */
export type CheckStatus = 'ok' | 'warn' | 'fail';

export interface CheckResult {
  /** Short, stable: `node`, `host memory`, `ports`… */
  name: string;
  status: CheckStatus;
  /** What was found, with its numbers. */
  detail: string;
  /** What to do about it; null when nothing is to be done. */
  fix: string | null;
}

/** What one training job reserves, and where that figure comes from. */
export interface MemoryNeed {
  /** Which jobs: `every job`, or a model type once trainers estimate their own need. */
  jobs: string;
  gb: number;
  /** `TRAINING_MEMORY_RESERVE_GB`, `nlu estimate`… */
  source: string;
}

export type PortState =
  /** Nothing listens; the service can bind it. */
  | { kind: 'free' }
  /** Port 0 in the configuration: the service picks a free one. */
  | { kind: 'ephemeral' }
  /** Our own service answers its health probe there (trinity up adopts it). */
  | { kind: 'ours'; status: string }
  /** Something else holds it. */
  | { kind: 'other'; what: string }
  /** Off, or an external service we do not launch. */
  | { kind: 'not_launched'; why: string }
  /** The bind failed for another reason (EACCES for a privileged port, EADDRNOTAVAIL for a foreign address). */
  | { kind: 'error'; code: string };

export interface PortFact {
  title: string;
  /** The variable that moves it: REACTOR_CORE_PORT… */
  portVar: string;
  host: string;
  port: number;
  state: PortState;
}

export interface HomeFact {
  path: string;
  exists: boolean;
  /** The folder a temporary file was written to: the home, or its nearest existing ancestor. */
  triedDir: string;
  /** Why writing there failed; null when it worked. */
  writeError: string | null;
  /** Free and total bytes of the file system under triedDir; null when unknown. */
  freeBytes: number | null;
  totalBytes: number | null;
}

export interface DoctorFacts {
  node: { version: string; execPath: string };
  host: { totalGb: number; availableGb: number };
  /** One per kind of job; the largest decides. */
  memoryNeeds: MemoryNeed[];
  maxTotalMemoryGb: number;
  home: HomeFact;
  /** Null when not looked at (trinity up, after it started the services). */
  ports: PortFact[] | null;
  /** Each *_HOST setting with its value. */
  binds: { hostVar: string; host: string }[];
  apiTokenSet: boolean;
  autoTraining: { enabled: boolean; minExperiences: number; checkIntervalSeconds: number };
  /**
   * Processes stopped (Ctrl-Z, SIGSTOP) with the SQLite database open; null when unknown (no /proc) or
   * not asked (the state lives on Postgres, which ends a stopped session's transaction by itself).
   */
  stoppedHolders: StoppedHolder[] | null;
}

export interface StoppedHolder {
  pid: number;
  /** Its command line, shortened. */
  command: string;
}
