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
      -- The experience buffer. id is the experience's own id or its content hash.
      CREATE TABLE experiences (
        seq            INTEGER PRIMARY KEY AUTOINCREMENT,
        id             TEXT NOT NULL UNIQUE,
        model_type     TEXT,
        usable         INTEGER NOT NULL,
        unusable_reason TEXT,
        split          TEXT NOT NULL,
        quality        REAL,
        body           TEXT NOT NULL,
        source         TEXT NOT NULL,
        created_at     REAL NOT NULL
      );
      CREATE INDEX experiences_by_type ON experiences (model_type, usable, seq);

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

      CREATE TABLE model_versions (
        model_type  TEXT NOT NULL,
        version     TEXT NOT NULL,
        major       INTEGER NOT NULL,
        minor       INTEGER NOT NULL,
        patch       INTEGER NOT NULL,
        job_id      TEXT,
        path        TEXT NOT NULL,
        digest      TEXT NOT NULL,
        manifest    TEXT NOT NULL,
        created_at  REAL NOT NULL,
        PRIMARY KEY (model_type, version)
      );

      -- Which version of each type is stable (and later, which is canary).
      CREATE TABLE model_pointers (
        model_type        TEXT PRIMARY KEY,
        stable            TEXT,
        canary            TEXT,
        canary_percentage REAL NOT NULL DEFAULT 0,
        updated_at        REAL NOT NULL
      );

      -- The highest fencing token seen per lock name.
      CREATE TABLE fencing_tokens (
        name TEXT PRIMARY KEY,
        seen INTEGER NOT NULL
      );
    `,
  },
];
