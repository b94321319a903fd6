/**
 * Options of ExperienceIntake, their defaults (filled in one place) and their checks.
 */
import { ExperienceIntakeInvalidOption } from '../errors.js';
import type { Config } from '../config/config.js';
import type { ExperienceSink } from './experiences-store.js';
import type { IntakeLogger } from './types.js';

/**
 * Rows per transaction. DESIGN measured ~50k rows/s at 1,000, but a transaction holds the loop: 1,000 rows
 * (with the kept counts) took ~20 ms under the soak's load, and requests waited behind it. 250 keeps each
 * under ~6 ms at a small cost in rows/s (test/experiences/throughput.test.ts).
 */
export const DEFAULT_BATCH_SIZE = 250;
/** A file that does not parse and was modified this recently may be a write in progress (writers without temp+rename). */
export const DEFAULT_SETTLE_MS = 2000;
/** Full rescan period when the caller gives none (EXPERIENCE_RECONCILE_INTERVAL's default). */
export const DEFAULT_RECONCILE_INTERVAL_MS = 10_000;

export interface ExperienceIntakeOptions {
  /** The events folder (EXPERIENCE_DIR). Created 0700 when missing. */
  dir: string;
  store: ExperienceSink;
  /** pino-compatible logger; silent when absent. */
  logger?: IntakeLogger;
  /** Milliseconds between full rescans of the folder (the watcher can miss events under bursts). Default 10,000. */
  reconcileIntervalMs?: number;
  /** Experiences per transaction. Default 1,000. */
  batchSize?: number;
  /** Milliseconds a fresh file that does not parse (or a fresh JSON lines file) is given to settle. Default 2,000. */
  settleMs?: number;
  /** Watch the folder (fs.watch); when false only the rescans find files. Default true. */
  watch?: boolean;
}

export type ResolvedIntakeOptions = Required<ExperienceIntakeOptions>;

const SILENT: IntakeLogger = { debug() {}, info() {}, warn() {}, error() {} };

function positive(name: string, value: number, int: boolean): number {
  if (!Number.isFinite(value) || value <= 0 || (int && !Number.isInteger(value))) {
    throw ExperienceIntakeInvalidOption(name, int ? 'a positive integer' : 'a positive number', value);
  }
  return value;
}

export function resolveIntakeOptions(o: ExperienceIntakeOptions): ResolvedIntakeOptions {
  if (typeof o.dir !== 'string' || o.dir === '') throw ExperienceIntakeInvalidOption('dir', 'a folder path', o.dir);
  if (typeof o.store !== 'object' || o.store === null) throw ExperienceIntakeInvalidOption('store', 'an ExperienceStore or ExperienceWriter', o.store);
  return {
    dir: o.dir,
    store: o.store,
    logger: o.logger ?? SILENT,
    reconcileIntervalMs: positive('reconcileIntervalMs', o.reconcileIntervalMs ?? DEFAULT_RECONCILE_INTERVAL_MS, false),
    batchSize: positive('batchSize', o.batchSize ?? DEFAULT_BATCH_SIZE, true),
    settleMs: positive('settleMs', o.settleMs ?? DEFAULT_SETTLE_MS, false),
    watch: o.watch ?? true,
  };
}

/** The options a service derives from its Config: EXPERIENCE_DIR and EXPERIENCE_RECONCILE_INTERVAL. */
export function intakeOptionsFromConfig(config: Config, store: ExperienceSink, logger?: IntakeLogger): ExperienceIntakeOptions {
  return { dir: config.paths.events, store, logger, reconcileIntervalMs: config.reactor.reconcileIntervalSeconds * 1000 };
}
