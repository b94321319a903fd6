/**
 * The experience buffer, the record of ingested files and the per-type training marks. The only place
 * that knows their SQL. Stored shapes (ExperienceRow, StatsRow) are kept apart from the domain shapes
 * of src/experiences; convert with toRow / fromRow.
 */
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
import { greatest, type Sql, type SqlDb } from '../store/sql.js';
import { storeCall } from '../store/seam-helpers.js';

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
  insertBatch(experiences: readonly NormalizedExperience[], options: InsertOptions): Promise<InsertCounts>;
  isFileIngested(sha256: string): Promise<boolean>;
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
export const DATASET_PAGE_ROWS = 500;

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
// Portable SQL for both databases (src/store/sql.ts): `?` placeholders, COUNT(*) FILTER (SQLite 3.30+).

const TRAINABLE = `kind IN ('example', 'correction')`;
/** Takes one parameter: the quality threshold. */
const GOOD_QUALITY = `(quality IS NULL OR quality >= ?)`;

// The full count, for a threshold other than the store's own and for recounting experience_counts. Takes
// the threshold SCAN_PARAMS times.
const SCAN_STATS = `SELECT COALESCE(e.model_type, '') AS model_type,
  COUNT(*) AS total,
  COUNT(*) FILTER (WHERE e.${TRAINABLE} AND ${GOOD_QUALITY}) AS usable,
  COUNT(*) FILTER (WHERE e.kind = 'negative') AS negative,
  COUNT(*) FILTER (WHERE e.${TRAINABLE} AND e.quality < ?) AS low_quality,
  COUNT(*) FILTER (WHERE e.kind = 'correction' AND ${GOOD_QUALITY}) AS corrections,
  COUNT(*) FILTER (WHERE e.${TRAINABLE} AND ${GOOD_QUALITY} AND e.seq > COALESCE(m.last_seq, 0)) AS new_since,
  m.last_trained_at AS last_trained_at
  FROM experiences e LEFT JOIN training_marks m ON m.model_type = e.model_type
  GROUP BY e.model_type, m.last_trained_at`;
const SCAN_PARAMS = 4;

const COLUMNS = 'id, model_type, kind, unusable_reason, split, quality, example, body, source, created_at';

const SQL = {
  insert: `INSERT INTO experiences (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
  // Postgres: the batch in one statement (a round trip per row would cost more than the rows), answering
  // the ids it inserted; an id twice in the batch is inserted once.
  insertMany: `INSERT INTO experiences (${COLUMNS})
               SELECT ${COLUMNS} FROM json_to_recordset(?::json) AS r(id text, model_type text, kind text, unusable_reason text,
                 split text, quality float8, example text, body text, source text, created_at float8)
               ON CONFLICT (id) DO NOTHING RETURNING id`,
  insertFile: `INSERT INTO ingested_files (sha256, name, accepted, duplicates, rejected, ingested_at) VALUES (?, ?, ?, ?, ?, ?)
               ON CONFLICT (sha256) DO UPDATE SET name = excluded.name, accepted = excluded.accepted, duplicates = excluded.duplicates,
                 rejected = excluded.rejected, ingested_at = excluded.ingested_at`,
  fileIngested: `SELECT 1 AS found FROM ingested_files WHERE sha256 = ?`,
  maxSeq: `SELECT COALESCE(MAX(seq), 0) AS n FROM experiences WHERE model_type = ?`,
  size: `SELECT COUNT(*) AS n FROM experiences`,
  datasetPage: `SELECT seq, id, split, example FROM experiences
                WHERE model_type = ? AND ${TRAINABLE} AND seq > ? AND seq <= ? AND ${GOOD_QUALITY}
                ORDER BY seq LIMIT ?`,
  keptStats: `SELECT c.model_type, c.total, c.usable, c.negative, c.low_quality, c.corrections, c.new_since,
                     m.last_trained_at AS last_trained_at
              FROM experience_counts c LEFT JOIN training_marks m ON m.model_type = c.model_type`,
  basis: `SELECT min_quality FROM experience_counts_basis WHERE id = 1`,
  setBasis: `INSERT INTO experience_counts_basis (id, min_quality) VALUES (1, ?)
             ON CONFLICT (id) DO UPDATE SET min_quality = excluded.min_quality`,
  clearCounts: `DELETE FROM experience_counts`,
  recount: `INSERT INTO experience_counts (model_type, total, usable, negative, low_quality, corrections, new_since)
            SELECT model_type, total, usable, negative, low_quality, corrections, new_since FROM (${SCAN_STATS}) AS s`,
  addCounts: `INSERT INTO experience_counts (model_type, total, usable, negative, low_quality, corrections, new_since)
              VALUES (?, ?, ?, ?, ?, ?, ?)
              ON CONFLICT (model_type) DO UPDATE SET
                total = experience_counts.total + excluded.total, usable = experience_counts.usable + excluded.usable,
                negative = experience_counts.negative + excluded.negative, low_quality = experience_counts.low_quality + excluded.low_quality,
                corrections = experience_counts.corrections + excluded.corrections, new_since = experience_counts.new_since + excluded.new_since`,
  // Rows after the mark only: the (model_type, seq) index makes this as cheap as the rows that came since.
  // Parameters: type, threshold, type, type.
  recountNew: `UPDATE experience_counts SET new_since = (
                 SELECT COUNT(*) FROM experiences
                 WHERE model_type = ? AND ${TRAINABLE} AND ${GOOD_QUALITY}
                   AND seq > (SELECT last_seq FROM training_marks WHERE model_type = ?))
               WHERE model_type = ?`,
  marks: `SELECT model_type, last_trained_at FROM training_marks`,
} as const;

const markTrainedSql = (tx: Sql) => `INSERT INTO training_marks (model_type, last_seq, last_trained_at) VALUES (?, ?, ?)
  ON CONFLICT (model_type) DO UPDATE SET last_seq = ${greatest(tx.dialect, 'training_marks.last_seq', 'excluded.last_seq')}, last_trained_at = excluded.last_trained_at`;

/** Any constant; it spells "expe". */
const BUFFER_LOCK = 0x65787065;

/**
 * Writers of the buffer (inserts, marks, recounts) one at a time, as BEGIN IMMEDIATE makes them on SQLite.
 * On Postgres this keeps seqs committed in order (a snapshot's maxSeq never skips a row committed later),
 * lets two handles insert overlapping batches without a deadlock, and keeps counts and marks consistent.
 */
async function lockBuffer(tx: Sql): Promise<void> {
  if (tx.dialect === 'postgres') await tx.get('SELECT pg_advisory_xact_lock(?)', [BUFFER_LOCK]);
}

/**
 * Postgres text holds no U+0000 and its json no lone surrogate: either would fail the whole batch (and a
 * file of it at every retry). They become U+FFFD, as better-sqlite3 stores a lone surrogate. body and
 * example are JSON text, where both are escapes already.
 */
function pgRow(r: ExperienceRow): ExperienceRow {
  const text = (s: string) => s.replace(/\0|\p{Cs}/gu, '\uFFFD');
  return { ...r, id: text(r.id), model_type: r.model_type && text(r.model_type), unusable_reason: r.unusable_reason && text(r.unusable_reason), source: text(r.source) };
}

/** The rows of `rows` that were new, in order and as stored: inserted on this call, ids already present left out. */
async function insertNew(tx: Sql, rows: readonly ExperienceRow[]): Promise<ExperienceRow[]> {
  if (tx.dialect === 'postgres') {
    const stored = rows.map(pgRow);
    const inserted = await tx.all<{ id: string }>(SQL.insertMany, [JSON.stringify(stored)]);
    const ids = new Set(inserted.map((r) => r.id));
    return stored.filter((r) => ids.delete(r.id));
  }
  const out: ExperienceRow[] = [];
  for (const r of rows) {
    const { changes } = await tx.run(SQL.insert, [r.id, r.model_type, r.kind, r.unusable_reason, r.split, r.quality, r.example, r.body, r.source, r.created_at]);
    if (changes > 0) out.push(r);
  }
  return out;
}

/**
 * The experience buffer on the async store seam (src/store/sql.ts), SQLite or Postgres. A batch insert is
 * one transaction; the per-type figures are kept at insert (experience_counts), so stats read one row per
 * type. On SQLite the reactor inserts through ExperienceWriter's thread, on its own connection.
 */
export class ExperienceStore implements ExperienceSink {
  readonly minQuality: number;
  /** The recount at first use (keepCounts); a failed one is tried again by the next call. */
  private counting: Promise<void> | null = null;
  private counted = false;
  /** The last stats at the store's threshold, for synchronous readers (recentStats). */
  private latest: ExperienceStats | null = null;
  /** Which read `latest` came from: reads overlap on Postgres (a pool), and one begun later must win. */
  private latestRead = 0;
  private reads = 0;
  private refreshing = false;

  constructor(
    private readonly sql: SqlDb,
    options: ExperienceStoreOptions = {},
  ) {
    const minQuality = options.minQuality ?? DEFAULT_MIN_QUALITY;
    if (!Number.isFinite(minQuality) || minQuality < 0) {
      throw StoreFailed(`ExperienceStore minQuality must be a number >= 0, got ${String(options.minQuality)}`);
    }
    this.minQuality = minQuality;
  }

  /** Waits for experience_counts to be kept against this store's threshold. */
  private async ready(): Promise<void> {
    if (this.counted) return;
    this.counting ??= this.keepCounts().then(
      () => {
        this.counted = true;
      },
      (err: unknown) => {
        this.counting = null;
        throw err;
      },
    );
    await this.counting;
  }

  /** Recounts experience_counts when they were kept against another threshold (or never, on first open). */
  private async keepCounts(): Promise<void> {
    const q = this.minQuality;
    await storeCall('count experiences', () =>
      this.sql.transaction(async (tx) => {
        await lockBuffer(tx);
        const basis = await tx.get<{ min_quality: number }>(SQL.basis);
        if (basis?.min_quality === q) return;
        await tx.run(SQL.clearCounts);
        await tx.run(SQL.recount, Array<number>(SCAN_PARAMS).fill(q));
        await tx.run(SQL.setBasis, [q]);
      }),
    );
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
   * as ingested in that same transaction: either both are committed or neither. Resolves once committed.
   */
  insertBatch(experiences: readonly NormalizedExperience[], options: InsertOptions): Promise<InsertCounts> {
    const { rows, file } = toRows(experiences, options);
    return this.insertRows(rows, file, options.carried);
  }

  /** insertBatch of rows already made by toRows (the writer thread's entry). */
  async insertRows(rows: ExperienceRow[], file: Record<string, unknown> | null, carried: InsertCounts = { accepted: 0, duplicates: 0 }): Promise<InsertCounts> {
    await this.ready();
    return storeCall('insert experiences', () =>
      this.sql.transaction(async (tx) => {
        await lockBuffer(tx);
        const inserted = await insertNew(tx, rows);
        const added = new Map<string, CountsRow>();
        for (const row of inserted) this.count(row, added);
        for (const d of added.values()) {
          await tx.run(SQL.addCounts, [d.model_type, d.total, d.usable, d.negative, d.low_quality, d.corrections, d.new_since]);
        }
        const counts = { accepted: inserted.length, duplicates: rows.length - inserted.length };
        if (file !== null) {
          await tx.run(SQL.insertFile, [
            file.sha256,
            file.name,
            carried.accepted + counts.accepted,
            carried.duplicates + counts.duplicates,
            file.rejected,
            file.ingested_at,
          ]);
        }
        return counts;
      }),
    );
  }

  async isFileIngested(sha256: string): Promise<boolean> {
    return (await storeCall('look up an ingested file', () => this.sql.get(SQL.fileIngested, [sha256]))) !== undefined;
  }

  /** Highest seq of a model type (0 when empty): the snapshot bound of a training job. */
  async maxSeq(modelType: ModelType): Promise<number> {
    return (await storeCall('read max seq', () => this.sql.get<{ n: number }>(SQL.maxSeq, [modelType])))?.n ?? 0;
  }

  /** Rows in the buffer, all kinds. */
  async size(): Promise<number> {
    return (await storeCall('count experiences', () => this.sql.get<{ n: number }>(SQL.size)))?.n ?? 0;
  }

  /** Trainable rows of a type in seq order, split by their stored side. */
  async dataset(modelType: ModelType, options: DatasetOptions = {}): Promise<ExperienceDataset> {
    const out: ExperienceDataset = { train: [], validation: [] };
    for (let page = await this.datasetPage(modelType, options); page.rows > 0; page = await this.datasetPage(modelType, { ...options, afterSeq: page.lastSeq })) {
      out.train.push(...page.train);
      out.validation.push(...page.validation);
    }
    return out;
  }

  /**
   * One page of `dataset`: up to `limit` rows after `afterSeq`. A caller on a server's loop reads a large
   * buffer page by page and yields between pages (440k rows take about 1 s to read).
   */
  async datasetPage(modelType: ModelType, options: DatasetPageOptions = {}): Promise<ExperienceDatasetPage> {
    const afterSeq = options.afterSeq ?? 0;
    const params = [modelType, afterSeq, options.maxSeq ?? Number.MAX_SAFE_INTEGER, options.minQuality ?? this.minQuality, options.limit ?? DATASET_PAGE_ROWS];
    const rows = await storeCall('read dataset', () => this.sql.all<DatasetRow>(SQL.datasetPage, params));
    const page: ExperienceDatasetPage = { train: [], validation: [], rows: rows.length, lastSeq: rows.at(-1)?.seq ?? afterSeq };
    for (const row of rows) page[row.split].push(exampleFromRow(row));
    return page;
  }

  /** Records that a training of `modelType` read the buffer up to `seq` (never moves backwards). */
  async markTrained(modelType: ModelType, seq: number): Promise<void> {
    await this.ready();
    await storeCall('mark trained', () =>
      this.sql.transaction(async (tx) => {
        await lockBuffer(tx);
        await tx.run(markTrainedSql(tx), [modelType, seq, Date.now() / 1000]);
        await tx.run(SQL.recountNew, [modelType, this.minQuality, modelType, modelType]);
      }),
    );
  }

  /**
   * Per-type figures (every built-in type, zeros included) and totals. At the store's own threshold they
   * are the counts kept at insert (one row per type); another threshold counts every row.
   */
  async stats(minQuality: number = this.minQuality): Promise<ExperienceStats> {
    await this.ready();
    const own = minQuality === this.minQuality;
    const read = ++this.reads;
    const [rows, marks] = await storeCall('read stats', () =>
      Promise.all([
        own ? this.sql.all<StatsRow>(SQL.keptStats) : this.sql.all<StatsRow>(SCAN_STATS, Array<number>(SCAN_PARAMS).fill(minQuality)),
        this.sql.all<{ model_type: string; last_trained_at: number }>(SQL.marks),
      ]),
    );
    const stats = statsFrom(rows, marks);
    if (own && read > this.latestRead) {
      this.latest = stats;
      this.latestRead = read;
    }
    return stats;
  }

  /**
   * The last stats at the store's threshold, for a reader that must stay synchronous (health, the metrics
   * gauge): each call starts one refresh in the background, so the figures are as of the previous call
   * (or the last stats()). Null until the first read.
   */
  recentStats(): ExperienceStats | null {
    if (!this.refreshing) {
      this.refreshing = true;
      this.stats()
        .catch(() => undefined)
        .finally(() => {
          this.refreshing = false;
        });
    }
    return this.latest;
  }
}

function statsFrom(rows: StatsRow[], marks: { model_type: string; last_trained_at: number }[]): ExperienceStats {
  const byType = new Map(rows.map((r) => [r.model_type, r]));
  const types = {} as Record<ModelType, ExperienceTypeStats>;
  for (const t of MODEL_TYPES) types[t] = statsFromRow(byType.get(t));
  // A type trained on an empty buffer has a mark but no rows: still report when it was trained.
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
