/** Numbered schema migrations. Append only: a released migration is never edited. */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const migrations: Migration[] = [
  {
    version: 1,
    name: 'experiences, jobs, event log, models',
    sql: `
      -- The experience buffer. id is the experience's own id or its content hash. kind is example,
      -- correction, negative or unusable; quality is applied when reading, so MIN_EXPERIENCE_QUALITY can
      -- change without re-ingesting. example is the trainer's {input, label, score} (null unless trainable);
      -- body is the experience as received, kept for featurisers to come. seq never repeats (AUTOINCREMENT):
      -- training_marks.last_seq relies on it.
      CREATE TABLE experiences (
        seq             INTEGER PRIMARY KEY AUTOINCREMENT,
        id              TEXT NOT NULL UNIQUE,
        model_type      TEXT,
        kind            TEXT NOT NULL CHECK (kind IN ('example', 'correction', 'negative', 'unusable')),
        unusable_reason TEXT,
        split           TEXT NOT NULL CHECK (split IN ('train', 'validation')),
        quality         REAL,
        example         TEXT,
        body            TEXT NOT NULL,
        source          TEXT NOT NULL,
        created_at      REAL NOT NULL
      );
      CREATE INDEX experiences_by_type ON experiences (model_type, seq);

      -- Files already committed, by SHA-256 of their content: a file seen twice adds nothing twice.
      CREATE TABLE ingested_files (
        sha256       TEXT PRIMARY KEY,
        name         TEXT NOT NULL,
        accepted     INTEGER NOT NULL,
        duplicates   INTEGER NOT NULL,
        rejected     INTEGER NOT NULL,
        ingested_at  REAL NOT NULL
      );

      -- Where the last training of each model type stopped reading the buffer.
      CREATE TABLE training_marks (
        model_type      TEXT PRIMARY KEY,
        last_seq        INTEGER NOT NULL,
        last_trained_at REAL NOT NULL
      );

      CREATE TABLE jobs (
        job_id             TEXT PRIMARY KEY,
        model_type         TEXT NOT NULL,
        status             TEXT NOT NULL,
        request            TEXT NOT NULL,
        total_epochs       INTEGER NOT NULL,
        epoch              INTEGER NOT NULL DEFAULT 0,
        metrics            TEXT,
        model_version      TEXT,
        error              TEXT,
        checkpoint         TEXT,
        resumed_from_epoch INTEGER,
        dataset_path       TEXT,
        dataset_size       INTEGER,
        buffer_max_seq     INTEGER,
        created_at         REAL NOT NULL,
        started_at         REAL,
        completed_at       REAL
      );
      CREATE INDEX jobs_by_status ON jobs (status, created_at);

      -- Each job's events, numbered from 1: streams are a tail of this log.
      CREATE TABLE job_events (
        job_id     TEXT NOT NULL REFERENCES jobs (job_id) ON DELETE CASCADE,
        seq        INTEGER NOT NULL,
        event      TEXT NOT NULL,
        data       TEXT NOT NULL,
        created_at REAL NOT NULL,
        PRIMARY KEY (job_id, seq)
      );

      -- One row per registered model version. The artifacts live in MODEL_REGISTRY_DIR/<type>/<version>/;
      -- the path is derived, not stored, so the folder can move. manifest is manifest.json as written.
      -- major/minor/patch make "newest first" an index scan instead of a semver parse per row.
      CREATE TABLE model_versions (
        model_type  TEXT NOT NULL,
        version     TEXT NOT NULL,
        major       INTEGER NOT NULL,
        minor       INTEGER NOT NULL,
        patch       INTEGER NOT NULL,
        job_id      TEXT NOT NULL,
        digest      TEXT NOT NULL,
        manifest    TEXT NOT NULL,
        created_at  REAL NOT NULL,
        PRIMARY KEY (model_type, version)
      );
      -- A job registers at most one version: a retried registration finds it here.
      CREATE UNIQUE INDEX model_versions_by_job ON model_versions (job_id);
      CREATE INDEX model_versions_newest ON model_versions (model_type, major DESC, minor DESC, patch DESC);

      -- Which version of each type is stable and which is canary; both must be registered versions.
      CREATE TABLE model_pointers (
        model_type        TEXT PRIMARY KEY,
        stable            TEXT,
        canary            TEXT,
        canary_percentage REAL NOT NULL DEFAULT 0,
        updated_at        REAL NOT NULL,
        FOREIGN KEY (model_type, stable) REFERENCES model_versions (model_type, version),
        FOREIGN KEY (model_type, canary) REFERENCES model_versions (model_type, version)
      );

      -- The highest fencing token seen per lock name.
      CREATE TABLE fencing_tokens (
        name TEXT PRIMARY KEY,
        seen INTEGER NOT NULL
      );
    `,
  },
];
