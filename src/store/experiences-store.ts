/**
 * The experience buffer, the record of ingested files and the per-type training marks. The only place
 * that knows their SQL. Stored shapes (ExperienceRow, StatsRow) are kept apart from the domain shapes
 * of src/experiences; convert with toRow / fromRow.
 */
import type { Statement, Transaction } from 'better-sqlite3';
import { StoreFailed } from '../errors.js';
import type {
  ExperienceKind,
  ExperienceStats,
  ExperienceTotals,
  ExperienceTypeStats,
  InsertCounts,
  NormalizedExperience,
  Split,
} from '../experiences/index.js';
import { MODEL_TYPES, isModelType, type ModelType } from '../model-types.js';
import type { Example } from '../training/trainers/types.js';
import type { Db } from './database.js';

/** MIN_EXPERIENCE_QUALITY's default (CONTRACT §7). */
export const DEFAULT_MIN_QUALITY = 0.3;

/** One committed file, by SHA-256 of its content. */
export interface IngestedFileRecord {
  sha256: string;
  name: string;
  /** Items refused (to rejected/). */
  rejected: number;
}

export interface InsertOptions {
  /** Where the rows came from: `file:<name>` or `http`. */
  source: string;
  /** Record this file as ingested in the same transaction (the last batch of a file). */
  file?: IngestedFileRecord;
  /** Counts of earlier batches of the same file, added to what the file record says. */
  carried?: InsertCounts;
}

export interface DatasetOptions {
  /** Only rows up to this seq (a snapshot taken when the job was queued); all when absent. */
  maxSeq?: number;
  /** Quality threshold; the store's default when absent. */
  minQuality?: number;
}

export interface ExperienceDataset {
  train: Example[];
  validation: Example[];
}

export interface ExperienceStoreOptions {
  /** Quality below which an experience is kept but not trained on. Default 0.3 (MIN_EXPERIENCE_QUALITY). */
  minQuality?: number;
}

// ── stored shapes ────────────────────────────────────────────────────────

interface ExperienceRow {
  id: string;
  model_type: string | null;
  kind: ExperienceKind;
  unusable_reason: string | null;
  split: Split;
  quality: number | null;
  /** `{input, label?, score?}` of the trainer example; the id is its own column. */
  example: string | null;
  body: string;
  source: string;
  created_at: number;
}

interface DatasetRow {
  id: string;
  split: Split;
  example: string;
}

interface StatsRow {
  model_type: string | null;
  total: number;
  usable: number;
  negative: number;
  low_quality: number;
  corrections: number;
  new_since: number;
  last_trained_at: number | null;
}

function toRow(e: NormalizedExperience, source: string, now: number): ExperienceRow {
  let example: string | null = null;
  if (e.example !== null) {
    const { id: _id, ...rest } = e.example;
    example = JSON.stringify(rest);
  }
  return {
    id: e.id,
    model_type: e.modelType,
    kind: e.kind,
    unusable_reason: e.reason,
    split: e.split,
    quality: e.quality,
    example,
    body: e.rawJson ?? JSON.stringify(e.raw),
    source,
    created_at: now,
  };
}

function exampleFromRow(row: DatasetRow): Example {
  const stored = JSON.parse(row.example) as Omit<Example, 'id'>;
  return { id: row.id, ...stored };
}

function statsFromRow(row: StatsRow | undefined): ExperienceTypeStats {
  if (row === undefined) {
    return { total: 0, usable: 0, unusable: 0, negative_feedback: 0, low_quality: 0, corrections: 0, new_since_last_training: 0, last_trained_at: null };
  }
  return {
    total: row.total,
    usable: row.usable,
    unusable: row.total - row.usable,
    negative_feedback: row.negative,
    low_quality: row.low_quality,
    corrections: row.corrections,
    new_since_last_training: row.new_since,
    last_trained_at: row.last_trained_at === null ? null : new Date(row.last_trained_at * 1000).toISOString(),
  };
}

// ── statements ───────────────────────────────────────────────────────────

const TRAINABLE = `kind IN ('example', 'correction')`;
const GOOD_QUALITY = `(quality IS NULL OR quality >= @minQuality)`;

const SQL = {
  insert: `INSERT OR IGNORE INTO experiences (id, model_type, kind, unusable_reason, split, quality, example, body, source, created_at)
           VALUES (@id, @model_type, @kind, @unusable_reason, @split, @quality, @example, @body, @source, @created_at)`,
  insertFile: `INSERT OR REPLACE INTO ingested_files (sha256, name, accepted, duplicates, rejected, ingested_at)
               VALUES (@sha256, @name, @accepted, @duplicates, @rejected, @ingested_at)`,
  fileIngested: `SELECT 1 FROM ingested_files WHERE sha256 = ?`,
  maxSeq: `SELECT COALESCE(MAX(seq), 0) FROM experiences WHERE model_type = ?`,
  size: `SELECT COUNT(*) FROM experiences`,
  dataset: `SELECT id, split, example FROM experiences
            WHERE model_type = @modelType AND ${TRAINABLE} AND seq <= @maxSeq AND ${GOOD_QUALITY}
            ORDER BY seq`,
  stats: `SELECT e.model_type AS model_type,
                 COUNT(*) AS total,
                 COALESCE(SUM(e.${TRAINABLE} AND ${GOOD_QUALITY}), 0) AS usable,
                 COALESCE(SUM(e.kind = 'negative'), 0) AS negative,
                 COALESCE(SUM(e.${TRAINABLE} AND e.quality < @minQuality), 0) AS low_quality,
                 COALESCE(SUM(e.kind = 'correction' AND ${GOOD_QUALITY}), 0) AS corrections,
                 COALESCE(SUM(e.${TRAINABLE} AND ${GOOD_QUALITY} AND e.seq > COALESCE(m.last_seq, 0)), 0) AS new_since,
                 m.last_trained_at AS last_trained_at
          FROM experiences e LEFT JOIN training_marks m ON m.model_type = e.model_type
          GROUP BY e.model_type`,
  marks: `SELECT model_type, last_trained_at FROM training_marks`,
  markTrained: `INSERT INTO training_marks (model_type, last_seq, last_trained_at) VALUES (?, ?, ?)
                ON CONFLICT (model_type) DO UPDATE SET last_seq = MAX(last_seq, excluded.last_seq), last_trained_at = excluded.last_trained_at`,
} as const;

/**
 * The experience buffer over a better-sqlite3 handle from openDatabase. All methods are synchronous:
 * SQLite answers in microseconds and a batch insert is one transaction.
 */
export class ExperienceStore {
  readonly minQuality: number;
  private readonly stmts: {
    insert: Statement<[ExperienceRow]>;
    insertFile: Statement<[Record<string, unknown>]>;
    fileIngested: Statement<[string]>;
    maxSeq: Statement<[string]>;
    size: Statement<[]>;
    dataset: Statement<[{ modelType: string; maxSeq: number; minQuality: number }]>;
    stats: Statement<[{ minQuality: number }]>;
    marks: Statement<[]>;
    markTrained: Statement<[string, number, number]>;
  };
  private readonly insertTx: Transaction<(rows: ExperienceRow[], file: Record<string, unknown> | null, carried: InsertCounts) => InsertCounts>;

  constructor(db: Db, options: ExperienceStoreOptions = {}) {
    const minQuality = options.minQuality ?? DEFAULT_MIN_QUALITY;
    if (!Number.isFinite(minQuality) || minQuality < 0) {
      throw StoreFailed(`ExperienceStore minQuality must be a number >= 0, got ${String(options.minQuality)}`);
    }
    this.minQuality = minQuality;
    this.stmts = this.guard('prepare statements', () => ({
      insert: db.prepare<[ExperienceRow]>(SQL.insert),
      insertFile: db.prepare<[Record<string, unknown>]>(SQL.insertFile),
      fileIngested: db.prepare<[string]>(SQL.fileIngested).pluck(),
      maxSeq: db.prepare<[string]>(SQL.maxSeq).pluck(),
      size: db.prepare<[]>(SQL.size).pluck(),
      dataset: db.prepare<[{ modelType: string; maxSeq: number; minQuality: number }]>(SQL.dataset),
      stats: db.prepare<[{ minQuality: number }]>(SQL.stats),
      marks: db.prepare<[]>(SQL.marks),
      markTrained: db.prepare<[string, number, number]>(SQL.markTrained),
    }));
    this.insertTx = db.transaction((rows: ExperienceRow[], file: Record<string, unknown> | null, carried: InsertCounts) => {
      let accepted = 0;
      for (const row of rows) accepted += this.stmts.insert.run(row).changes;
      const counts = { accepted, duplicates: rows.length - accepted };
      if (file !== null) {
        this.stmts.insertFile.run({
          ...file,
          accepted: carried.accepted + counts.accepted,
          duplicates: carried.duplicates + counts.duplicates,
        });
      }
      return counts;
    });
  }

  /**
   * Inserts a batch in one transaction, ignoring ids already present, and (with `file`) records the file
   * as ingested in that same transaction: either both are committed or neither.
   */
  insertBatch(experiences: readonly NormalizedExperience[], options: InsertOptions): InsertCounts {
    const now = Date.now() / 1000;
    const rows = experiences.map((e) => toRow(e, options.source, now));
    const file = options.file === undefined ? null : { ...options.file, ingested_at: now };
    return this.guard('insert experiences', () => this.insertTx.immediate(rows, file, options.carried ?? { accepted: 0, duplicates: 0 }));
  }

  isFileIngested(sha256: string): boolean {
    return this.guard('look up an ingested file', () => this.stmts.fileIngested.get(sha256) !== undefined);
  }

  /** Highest seq of a model type (0 when empty): the snapshot bound of a training job. */
  maxSeq(modelType: ModelType): number {
    return this.guard('read max seq', () => this.stmts.maxSeq.get(modelType) as number);
  }

  /** Rows in the buffer, all kinds. */
  size(): number {
    return this.guard('count experiences', () => this.stmts.size.get() as number);
  }

  /** Trainable rows of a type in seq order, split by their stored side. */
  dataset(modelType: ModelType, options: DatasetOptions = {}): ExperienceDataset {
    const params = { modelType, maxSeq: options.maxSeq ?? Number.MAX_SAFE_INTEGER, minQuality: options.minQuality ?? this.minQuality };
    const rows = this.guard('read dataset', () => this.stmts.dataset.all(params) as DatasetRow[]);
    const out: ExperienceDataset = { train: [], validation: [] };
    for (const row of rows) out[row.split].push(exampleFromRow(row));
    return out;
  }

  /** Records that a training of `modelType` read the buffer up to `seq` (never moves backwards). */
  markTrained(modelType: ModelType, seq: number): void {
    this.guard('mark trained', () => this.stmts.markTrained.run(modelType, seq, Date.now() / 1000));
  }

  /** Per-type figures (every built-in type, zeros included) and totals. */
  stats(minQuality: number = this.minQuality): ExperienceStats {
    const rows = this.guard('read stats', () => this.stmts.stats.all({ minQuality }) as StatsRow[]);
    const byType = new Map(rows.map((r) => [r.model_type, r]));
    const types = {} as Record<ModelType, ExperienceTypeStats>;
    for (const t of MODEL_TYPES) types[t] = statsFromRow(byType.get(t));
    // A type trained on an empty buffer has a mark but no rows: still report when it was trained.
    const marks = this.guard('read marks', () => this.stmts.marks.all() as { model_type: string; last_trained_at: number }[]);
    for (const m of marks) {
      if (isModelType(m.model_type) && !byType.has(m.model_type)) {
        types[m.model_type].last_trained_at = new Date(m.last_trained_at * 1000).toISOString();
      }
    }
    const totals: ExperienceTotals = { total: 0, usable: 0, unusable: 0, negative_feedback: 0, low_quality: 0, corrections: 0, untyped: 0 };
    for (const r of rows) {
      const s = statsFromRow(r);
      totals.total += s.total;
      totals.usable += s.usable;
      totals.unusable += s.unusable;
      totals.negative_feedback += s.negative_feedback;
      totals.low_quality += s.low_quality;
      totals.corrections += s.corrections;
      if (r.model_type === null) totals.untyped += s.total;
    }
    return { types, totals };
  }

  /** Runs a driver call, turning its errors into StoreFailed with the original as cause. */
  private guard<T>(what: string, fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      throw StoreFailed.with({ cause: err }, `${what}: ${(err as Error).message}`);
    }
  }
}
