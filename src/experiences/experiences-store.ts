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
} from './types.js';
import { MODEL_TYPES, isModelType, type ModelType } from '../model-types.js';
import type { Example } from '../models/types.js';
import type { Db } from '../store/database.js';

/** MIN_EXPERIENCE_QUALITY's default (CONTRACT §7). */
export const DEFAULT_MIN_QUALITY = 0.3;

/** One committed file, by SHA-256 of its content. */
export interface IngestedFileRecord {
  sha256: string;
  name: string;
  /** Items refused (to rejected/). */
  rejected: number;
}

/** What intake needs of the buffer: the store itself, or the ExperienceWriter thread in front of it. */
export interface ExperienceSink {
  readonly minQuality: number;
  insertBatch(experiences: readonly NormalizedExperience[], options: InsertOptions): InsertCounts | Promise<InsertCounts>;
  isFileIngested(sha256: string): boolean;
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

export interface DatasetPageOptions extends DatasetOptions {
  /** Rows after this seq; 0 (all) when absent. */
  afterSeq?: number;
  /** At most this many rows; DATASET_PAGE_ROWS when absent. */
  limit?: number;
}

export interface ExperienceDatasetPage extends ExperienceDataset {
  /** Rows read (0: the end). */
  rows: number;
  /** The seq of the last row read: the next page's afterSeq. */
  lastSeq: number;
}

/** Rows per page: a few milliseconds of reading. */
export const DATASET_PAGE_ROWS = 2000;

interface PageParams {
  modelType: string;
  afterSeq: number;
  maxSeq: number;
  minQuality: number;
  limit: number;
}

export interface ExperienceStoreOptions {
  /** Quality below which an experience is kept but not trained on. Default 0.3 (MIN_EXPERIENCE_QUALITY). */
  minQuality?: number;
}

// ── stored shapes ────────────────────────────────────────────────────────

/** A row as stored; made on the caller's thread (toRows) so that only plain values cross to a writer thread. */
export interface ExperienceRow {
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
  seq: number;
  id: string;
  split: Split;
  example: string;
}

/** Figures of one model type ('' for untyped rows), as experience_counts keeps them. */
interface CountsRow {
  model_type: string;
  total: number;
  usable: number;
  negative: number;
  low_quality: number;
  corrections: number;
  new_since: number;
}

interface StatsRow extends CountsRow {
  last_trained_at: number | null;
}

/** The rows of a batch and its file record, stamped with one time. */
export function toRows(experiences: readonly NormalizedExperience[], options: InsertOptions): { rows: ExperienceRow[]; file: Record<string, unknown> | null } {
  const now = Date.now() / 1000;
  return {
    rows: experiences.map((e) => toRow(e, options.source, now)),
    file: options.file === undefined ? null : { ...options.file, ingested_at: now },
  };
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

// The full count, for a threshold other than the store's own and for recounting experience_counts.
const SCAN_STATS = `SELECT COALESCE(e.model_type, '') AS model_type,
  COUNT(*) AS total,
  COALESCE(SUM(e.${TRAINABLE} AND ${GOOD_QUALITY}), 0) AS usable,
  COALESCE(SUM(e.kind = 'negative'), 0) AS negative,
  COALESCE(SUM(e.${TRAINABLE} AND e.quality < @minQuality), 0) AS low_quality,
  COALESCE(SUM(e.kind = 'correction' AND ${GOOD_QUALITY}), 0) AS corrections,
  COALESCE(SUM(e.${TRAINABLE} AND ${GOOD_QUALITY} AND e.seq > COALESCE(m.last_seq, 0)), 0) AS new_since,
  m.last_trained_at AS last_trained_at
  FROM experiences e LEFT JOIN training_marks m ON m.model_type = e.model_type
  GROUP BY e.model_type`;

const SQL = {
  insert: `INSERT OR IGNORE INTO experiences (id, model_type, kind, unusable_reason, split, quality, example, body, source, created_at)
           VALUES (@id, @model_type, @kind, @unusable_reason, @split, @quality, @example, @body, @source, @created_at)`,
  insertFile: `INSERT OR REPLACE INTO ingested_files (sha256, name, accepted, duplicates, rejected, ingested_at)
               VALUES (@sha256, @name, @accepted, @duplicates, @rejected, @ingested_at)`,
  fileIngested: `SELECT 1 FROM ingested_files WHERE sha256 = ?`,
  maxSeq: `SELECT COALESCE(MAX(seq), 0) FROM experiences WHERE model_type = ?`,
  size: `SELECT COUNT(*) FROM experiences`,
  datasetPage: `SELECT seq, id, split, example FROM experiences
                WHERE model_type = @modelType AND ${TRAINABLE} AND seq > @afterSeq AND seq <= @maxSeq AND ${GOOD_QUALITY}
                ORDER BY seq LIMIT @limit`,
  scanStats: SCAN_STATS,
  keptStats: `SELECT c.model_type, c.total, c.usable, c.negative, c.low_quality, c.corrections, c.new_since,
                     m.last_trained_at AS last_trained_at
              FROM experience_counts c LEFT JOIN training_marks m ON m.model_type = c.model_type`,
  basis: `SELECT min_quality FROM experience_counts_basis WHERE id = 1`,
  setBasis: `INSERT INTO experience_counts_basis (id, min_quality) VALUES (1, ?)
             ON CONFLICT (id) DO UPDATE SET min_quality = excluded.min_quality`,
  clearCounts: `DELETE FROM experience_counts`,
  recount: `INSERT INTO experience_counts (model_type, total, usable, negative, low_quality, corrections, new_since)
            SELECT model_type, total, usable, negative, low_quality, corrections, new_since FROM (${SCAN_STATS})`,
  addCounts: `INSERT INTO experience_counts (model_type, total, usable, negative, low_quality, corrections, new_since)
              VALUES (@model_type, @total, @usable, @negative, @low_quality, @corrections, @new_since)
              ON CONFLICT (model_type) DO UPDATE SET
                total = total + excluded.total, usable = usable + excluded.usable, negative = negative + excluded.negative,
                low_quality = low_quality + excluded.low_quality, corrections = corrections + excluded.corrections,
                new_since = new_since + excluded.new_since`,
  // Rows after the mark only: the (model_type, seq) index makes this as cheap as the rows that came since.
  recountNew: `UPDATE experience_counts SET new_since = (
                 SELECT COUNT(*) FROM experiences
                 WHERE model_type = @modelType AND ${TRAINABLE} AND ${GOOD_QUALITY}
                   AND seq > (SELECT last_seq FROM training_marks WHERE model_type = @modelType))
               WHERE model_type = @modelType`,
  marks: `SELECT model_type, last_trained_at FROM training_marks`,
  markTrained: `INSERT INTO training_marks (model_type, last_seq, last_trained_at) VALUES (?, ?, ?)
                ON CONFLICT (model_type) DO UPDATE SET last_seq = MAX(last_seq, excluded.last_seq), last_trained_at = excluded.last_trained_at`,
} as const;

/**
 * The experience buffer over a better-sqlite3 handle from openDatabase. All methods are synchronous:
 * SQLite answers in microseconds and a batch insert is one transaction.
 */
export class ExperienceStore implements ExperienceSink {
  readonly minQuality: number;
  private readonly stmts: {
    insert: Statement<[ExperienceRow]>;
    insertFile: Statement<[Record<string, unknown>]>;
    fileIngested: Statement<[string]>;
    maxSeq: Statement<[string]>;
    size: Statement<[]>;
    datasetPage: Statement<[PageParams]>;
    scanStats: Statement<[{ minQuality: number }]>;
    keptStats: Statement<[]>;
    addCounts: Statement<[CountsRow]>;
    recountNew: Statement<[{ modelType: string; minQuality: number }]>;
    marks: Statement<[]>;
    markTrained: Statement<[string, number, number]>;
  };
  private readonly insertTx: Transaction<(rows: ExperienceRow[], file: Record<string, unknown> | null, carried: InsertCounts) => InsertCounts>;
  private readonly markTx: Transaction<(modelType: ModelType, seq: number) => void>;

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
      datasetPage: db.prepare<[PageParams]>(SQL.datasetPage),
      scanStats: db.prepare<[{ minQuality: number }]>(SQL.scanStats),
      keptStats: db.prepare<[]>(SQL.keptStats),
      addCounts: db.prepare<[CountsRow]>(SQL.addCounts),
      recountNew: db.prepare<[{ modelType: string; minQuality: number }]>(SQL.recountNew),
      marks: db.prepare<[]>(SQL.marks),
      markTrained: db.prepare<[string, number, number]>(SQL.markTrained),
    }));
    this.insertTx = db.transaction((rows: ExperienceRow[], file: Record<string, unknown> | null, carried: InsertCounts) => {
      let accepted = 0;
      const added = new Map<string, CountsRow>();
      for (const row of rows) {
        if (this.stmts.insert.run(row).changes === 0) continue;
        accepted += 1;
        this.count(row, added);
      }
      for (const delta of added.values()) this.stmts.addCounts.run(delta);
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
    this.markTx = db.transaction((modelType: ModelType, seq: number) => {
      this.stmts.markTrained.run(modelType, seq, Date.now() / 1000);
      this.stmts.recountNew.run({ modelType, minQuality: this.minQuality });
    });
    this.keepCountsFor(db, minQuality);
  }

  /** Recounts experience_counts when they were kept against another threshold (or never, on first open). */
  private keepCountsFor(db: Db, minQuality: number): void {
    const recount = db.transaction(() => {
      const basis = db.prepare<[]>(SQL.basis).pluck().get() as number | undefined;
      if (basis === minQuality) return;
      db.prepare(SQL.clearCounts).run();
      db.prepare<[{ minQuality: number }]>(SQL.recount).run({ minQuality });
      db.prepare<[number]>(SQL.setBasis).run(minQuality);
    });
    this.guard('count experiences', () => recount.immediate());
  }

  /** Adds one inserted row to its type's delta, by the rules of SCAN_STATS. */
  private count(row: ExperienceRow, added: Map<string, CountsRow>): void {
    const key = row.model_type ?? '';
    let d = added.get(key);
    if (d === undefined) {
      d = { model_type: key, total: 0, usable: 0, negative: 0, low_quality: 0, corrections: 0, new_since: 0 };
      added.set(key, d);
    }
    const trainable = row.kind === 'example' || row.kind === 'correction';
    const good = row.quality === null || row.quality >= this.minQuality;
    d.total += 1;
    if (row.kind === 'negative') d.negative += 1;
    if (trainable && good) {
      d.usable += 1;
      // A new row's seq is above every mark, so it is new since the last training.
      d.new_since += 1;
      if (row.kind === 'correction') d.corrections += 1;
    } else if (trainable) {
      d.low_quality += 1;
    }
  }

  /**
   * Inserts a batch in one transaction, ignoring ids already present, and (with `file`) records the file
   * as ingested in that same transaction: either both are committed or neither.
   */
  insertBatch(experiences: readonly NormalizedExperience[], options: InsertOptions): InsertCounts {
    const { rows, file } = toRows(experiences, options);
    return this.insertRows(rows, file, options.carried);
  }

  /** insertBatch of rows already made by toRows (the writer thread's entry). */
  insertRows(rows: ExperienceRow[], file: Record<string, unknown> | null, carried: InsertCounts = { accepted: 0, duplicates: 0 }): InsertCounts {
    return this.guard('insert experiences', () => this.insertTx.immediate(rows, file, carried));
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
    const out: ExperienceDataset = { train: [], validation: [] };
    for (let page = this.datasetPage(modelType, options); page.rows > 0; page = this.datasetPage(modelType, { ...options, afterSeq: page.lastSeq })) {
      out.train.push(...page.train);
      out.validation.push(...page.validation);
    }
    return out;
  }

  /**
   * One page of `dataset`: up to `limit` rows after `afterSeq`. A caller on a server's loop reads a large
   * buffer page by page and yields between pages (440k rows take about 1 s to read).
   */
  datasetPage(modelType: ModelType, options: DatasetPageOptions = {}): ExperienceDatasetPage {
    const params: PageParams = {
      modelType,
      afterSeq: options.afterSeq ?? 0,
      maxSeq: options.maxSeq ?? Number.MAX_SAFE_INTEGER,
      minQuality: options.minQuality ?? this.minQuality,
      limit: options.limit ?? DATASET_PAGE_ROWS,
    };
    const rows = this.guard('read dataset', () => this.stmts.datasetPage.all(params) as DatasetRow[]);
    const page: ExperienceDatasetPage = { train: [], validation: [], rows: rows.length, lastSeq: rows.at(-1)?.seq ?? params.afterSeq };
    for (const row of rows) page[row.split].push(exampleFromRow(row));
    return page;
  }

  /** Records that a training of `modelType` read the buffer up to `seq` (never moves backwards). */
  markTrained(modelType: ModelType, seq: number): void {
    this.guard('mark trained', () => this.markTx.immediate(modelType, seq));
  }

  /**
   * Per-type figures (every built-in type, zeros included) and totals. At the store's own threshold they
   * are the counts kept at insert (one row per type); another threshold counts every row.
   */
  stats(minQuality: number = this.minQuality): ExperienceStats {
    const rows = this.guard('read stats', () =>
      (minQuality === this.minQuality ? this.stmts.keptStats.all() : this.stmts.scanStats.all({ minQuality })) as StatsRow[],
    );
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
      if (r.model_type === '') totals.untyped += s.total;
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
