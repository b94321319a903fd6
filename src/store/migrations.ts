/**
 * Numbered schema migrations. Append only: a released migration is never edited. Each carries its SQLite
 * text (`sql`) and the Postgres equivalent (`pg`), applied by the same runner (database.ts, pg-migrate.ts):
 * REAL is double precision, INTEGER bigint, AUTOINCREMENT an identity column, JSON stays text. jobs and
 * deployments get an explicit identity column named rowid, because their queries break ties on SQLite's
 * implicit rowid.
 */
export interface Migration {
  version: number;
  name: string;
  sql: string;
  pg: string;
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
    pg: `
      CREATE TABLE experiences (
        seq             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        id              text NOT NULL UNIQUE,
        model_type      text,
        kind            text NOT NULL CHECK (kind IN ('example', 'correction', 'negative', 'unusable')),
        unusable_reason text,
        split           text NOT NULL CHECK (split IN ('train', 'validation')),
        quality         double precision,
        example         text,
        body            text NOT NULL,
        source          text NOT NULL,
        created_at      double precision NOT NULL
      );
      CREATE INDEX experiences_by_type ON experiences (model_type, seq);
      CREATE TABLE ingested_files (
        sha256       text PRIMARY KEY,
        name         text NOT NULL,
        accepted     bigint NOT NULL,
        duplicates   bigint NOT NULL,
        rejected     bigint NOT NULL,
        ingested_at  double precision NOT NULL
      );
      CREATE TABLE training_marks (
        model_type      text PRIMARY KEY,
        last_seq        bigint NOT NULL,
        last_trained_at double precision NOT NULL
      );
      CREATE TABLE jobs (
        job_id             text PRIMARY KEY,
        model_type         text NOT NULL,
        status             text NOT NULL,
        request            text NOT NULL,
        total_epochs       bigint NOT NULL,
        epoch              bigint NOT NULL DEFAULT 0,
        metrics            text,
        model_version      text,
        error              text,
        checkpoint         text,
        resumed_from_epoch bigint,
        dataset_path       text,
        dataset_size       bigint,
        buffer_max_seq     bigint,
        created_at         double precision NOT NULL,
        started_at         double precision,
        completed_at       double precision,
        rowid              bigint GENERATED ALWAYS AS IDENTITY UNIQUE
      );
      CREATE INDEX jobs_by_status ON jobs (status, created_at);
      CREATE TABLE job_events (
        job_id     text NOT NULL REFERENCES jobs (job_id) ON DELETE CASCADE,
        seq        bigint NOT NULL,
        event      text NOT NULL,
        data       text NOT NULL,
        created_at double precision NOT NULL,
        PRIMARY KEY (job_id, seq)
      );
      CREATE TABLE model_versions (
        model_type  text NOT NULL,
        version     text NOT NULL,
        major       bigint NOT NULL,
        minor       bigint NOT NULL,
        patch       bigint NOT NULL,
        job_id      text NOT NULL,
        digest      text NOT NULL,
        manifest    text NOT NULL,
        created_at  double precision NOT NULL,
        PRIMARY KEY (model_type, version)
      );
      CREATE UNIQUE INDEX model_versions_by_job ON model_versions (job_id);
      CREATE INDEX model_versions_newest ON model_versions (model_type, major DESC, minor DESC, patch DESC);
      CREATE TABLE model_pointers (
        model_type        text PRIMARY KEY,
        stable            text,
        canary            text,
        canary_percentage double precision NOT NULL DEFAULT 0,
        updated_at        double precision NOT NULL,
        FOREIGN KEY (model_type, stable) REFERENCES model_versions (model_type, version),
        FOREIGN KEY (model_type, canary) REFERENCES model_versions (model_type, version)
      );
      CREATE TABLE fencing_tokens (
        name text PRIMARY KEY,
        seen bigint NOT NULL
      );
    `,
  },
  {
    version: 2,
    name: 'deployments, their event logs and counts, prime stats mark',
    sql: `
      -- One row per deployment. spec is the normalised request (fixed at creation), status what the rollout
      -- controller decided so far (src/rollout/types.ts); phase and the times are copies for the indexes.
      CREATE TABLE deployments (
        deployment_id    TEXT PRIMARY KEY,
        model_type       TEXT NOT NULL,
        model_version    TEXT NOT NULL,
        previous_version TEXT,
        strategy         TEXT NOT NULL,
        phase            TEXT NOT NULL CHECK (phase IN ('deploying', 'paused', 'completed', 'rolled_back', 'aborted')),
        spec             TEXT NOT NULL,
        status           TEXT NOT NULL,
        created_at       REAL NOT NULL,
        updated_at       REAL NOT NULL,
        finished_at      REAL
      );
      -- One active deployment per model type, enforced here so two processes cannot both start one.
      CREATE UNIQUE INDEX deployments_one_active ON deployments (model_type) WHERE phase IN ('deploying', 'paused');
      CREATE INDEX deployments_by_type ON deployments (model_type, created_at);

      -- Each deployment's decisions, numbered from 1: its stream is a tail of this log.
      CREATE TABLE deployment_events (
        deployment_id TEXT NOT NULL REFERENCES deployments (deployment_id) ON DELETE CASCADE,
        seq           INTEGER NOT NULL,
        event         TEXT NOT NULL,
        data          TEXT NOT NULL,
        created_at    REAL NOT NULL,
        PRIMARY KEY (deployment_id, seq)
      );

      -- Outcomes prime reported for each version while the deployment was active, accumulated across
      -- restarts of either service (docs/prime-protocol.md).
      CREATE TABLE deployment_counts (
        deployment_id    TEXT NOT NULL REFERENCES deployments (deployment_id) ON DELETE CASCADE,
        version          TEXT NOT NULL,
        requests         INTEGER NOT NULL DEFAULT 0,
        errors           INTEGER NOT NULL DEFAULT 0,
        feedback_success INTEGER NOT NULL DEFAULT 0,
        feedback_failure INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (deployment_id, version)
      );

      -- The last read of prime's cumulative counters (one row): the next read counts only the difference.
      CREATE TABLE prime_stats_mark (
        id          INTEGER PRIMARY KEY CHECK (id = 1),
        instance_id TEXT NOT NULL,
        models      TEXT NOT NULL,
        read_at     REAL NOT NULL
      );
    `,
    pg: `
      CREATE TABLE deployments (
        deployment_id    text PRIMARY KEY,
        model_type       text NOT NULL,
        model_version    text NOT NULL,
        previous_version text,
        strategy         text NOT NULL,
        phase            text NOT NULL CHECK (phase IN ('deploying', 'paused', 'completed', 'rolled_back', 'aborted')),
        spec             text NOT NULL,
        status           text NOT NULL,
        created_at       double precision NOT NULL,
        updated_at       double precision NOT NULL,
        finished_at      double precision,
        rowid            bigint GENERATED ALWAYS AS IDENTITY UNIQUE
      );
      CREATE UNIQUE INDEX deployments_one_active ON deployments (model_type) WHERE phase IN ('deploying', 'paused');
      CREATE INDEX deployments_by_type ON deployments (model_type, created_at);
      CREATE TABLE deployment_events (
        deployment_id text NOT NULL REFERENCES deployments (deployment_id) ON DELETE CASCADE,
        seq           bigint NOT NULL,
        event         text NOT NULL,
        data          text NOT NULL,
        created_at    double precision NOT NULL,
        PRIMARY KEY (deployment_id, seq)
      );
      CREATE TABLE deployment_counts (
        deployment_id    text NOT NULL REFERENCES deployments (deployment_id) ON DELETE CASCADE,
        version          text NOT NULL,
        requests         bigint NOT NULL DEFAULT 0,
        errors           bigint NOT NULL DEFAULT 0,
        feedback_success bigint NOT NULL DEFAULT 0,
        feedback_failure bigint NOT NULL DEFAULT 0,
        PRIMARY KEY (deployment_id, version)
      );
      CREATE TABLE prime_stats_mark (
        id          bigint PRIMARY KEY CHECK (id = 1),
        instance_id text NOT NULL,
        models      text NOT NULL,
        read_at     double precision NOT NULL
      );
    `,
  },
  {
    version: 3,
    name: 'coordinator: training queue, training_slot leases, experience outbox',
    sql: `
      -- JARVIS's training queue (CONTRACT §6), shared by every jarvis process on this home. The next job is
      -- the queued one with the highest priority, then the lowest seq (first in, first out). holder is the
      -- lease holder running it; a running job whose holder has no live lease is put back in the queue.
      CREATE TABLE coordinator_jobs (
        seq            INTEGER PRIMARY KEY AUTOINCREMENT,
        job_id         TEXT NOT NULL UNIQUE,
        model_type     TEXT NOT NULL,
        priority       INTEGER NOT NULL,
        epochs         INTEGER,
        source         TEXT NOT NULL CHECK (source IN ('manual', 'auto')),
        status         TEXT NOT NULL CHECK (status IN ('queued', 'running', 'completed', 'failed')),
        holder         TEXT,
        waiting_reason TEXT,
        trigger_count  INTEGER,
        fencing_token  INTEGER,
        reactor_job_id TEXT,
        model_version  TEXT,
        error          TEXT,
        details        TEXT NOT NULL DEFAULT '{}',
        created_at     REAL NOT NULL,
        started_at     REAL,
        finished_at    REAL,
        updated_at     REAL NOT NULL
      );
      -- At most one queued job per model type, enforced here so two jarvis processes cannot both add one.
      CREATE UNIQUE INDEX coordinator_jobs_one_queued ON coordinator_jobs (model_type) WHERE status = 'queued';
      CREATE INDEX coordinator_jobs_next ON coordinator_jobs (status, priority DESC, seq);
      CREATE INDEX coordinator_jobs_by_type ON coordinator_jobs (model_type, seq);

      -- Leases on named locks (training_slot): at most N live rows per name. A holder that stops renewing
      -- loses its row once expires_at passes. Tokens come from coordinator_lease_tokens and only grow.
      CREATE TABLE coordinator_leases (
        name        TEXT NOT NULL,
        holder      TEXT NOT NULL,
        token       INTEGER NOT NULL,
        job_id      TEXT,
        acquired_at REAL NOT NULL,
        renewed_at  REAL NOT NULL,
        expires_at  REAL NOT NULL,
        PRIMARY KEY (name, holder)
      );
      CREATE TABLE coordinator_lease_tokens (
        name       TEXT PRIMARY KEY,
        last_token INTEGER NOT NULL
      );

      -- Experiences collected by jarvis and not yet written to trinity/events/. A writer claims a batch
      -- (claimed_until), writes the file, then deletes the rows: a crash in between re-sends the batch,
      -- which reactor's content identity makes harmless.
      CREATE TABLE experience_outbox (
        seq           INTEGER PRIMARY KEY AUTOINCREMENT,
        model_type    TEXT NOT NULL,
        body          TEXT NOT NULL,
        bytes         INTEGER NOT NULL,
        claimed_by    TEXT,
        claimed_until REAL,
        created_at    REAL NOT NULL
      );
      CREATE INDEX experience_outbox_by_type ON experience_outbox (model_type, seq);

      -- What was forwarded per model type (sizes feed the placement estimate); last_file_ms keeps file
      -- names unique across jarvis processes.
      CREATE TABLE experience_forwarded (
        model_type   TEXT PRIMARY KEY,
        experiences  INTEGER NOT NULL DEFAULT 0,
        bytes        INTEGER NOT NULL DEFAULT 0,
        files        INTEGER NOT NULL DEFAULT 0,
        last_file_ms INTEGER NOT NULL DEFAULT 0
      );
    `,
    pg: `
      CREATE TABLE coordinator_jobs (
        seq            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        job_id         text NOT NULL UNIQUE,
        model_type     text NOT NULL,
        priority       bigint NOT NULL,
        epochs         bigint,
        source         text NOT NULL CHECK (source IN ('manual', 'auto')),
        status         text NOT NULL CHECK (status IN ('queued', 'running', 'completed', 'failed')),
        holder         text,
        waiting_reason text,
        trigger_count  bigint,
        fencing_token  bigint,
        reactor_job_id text,
        model_version  text,
        error          text,
        details        text NOT NULL DEFAULT '{}',
        created_at     double precision NOT NULL,
        started_at     double precision,
        finished_at    double precision,
        updated_at     double precision NOT NULL
      );
      CREATE UNIQUE INDEX coordinator_jobs_one_queued ON coordinator_jobs (model_type) WHERE status = 'queued';
      CREATE INDEX coordinator_jobs_next ON coordinator_jobs (status, priority DESC, seq);
      CREATE INDEX coordinator_jobs_by_type ON coordinator_jobs (model_type, seq);
      CREATE TABLE coordinator_leases (
        name        text NOT NULL,
        holder      text NOT NULL,
        token       bigint NOT NULL,
        job_id      text,
        acquired_at double precision NOT NULL,
        renewed_at  double precision NOT NULL,
        expires_at  double precision NOT NULL,
        PRIMARY KEY (name, holder)
      );
      CREATE TABLE coordinator_lease_tokens (
        name       text PRIMARY KEY,
        last_token bigint NOT NULL
      );
      CREATE TABLE experience_outbox (
        seq           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        model_type    text NOT NULL,
        body          text NOT NULL,
        bytes         bigint NOT NULL,
        claimed_by    text,
        claimed_until double precision,
        created_at    double precision NOT NULL
      );
      CREATE INDEX experience_outbox_by_type ON experience_outbox (model_type, seq);
      CREATE TABLE experience_forwarded (
        model_type   text PRIMARY KEY,
        experiences  bigint NOT NULL DEFAULT 0,
        bytes        bigint NOT NULL DEFAULT 0,
        files        bigint NOT NULL DEFAULT 0,
        last_file_ms bigint NOT NULL DEFAULT 0
      );
    `,
  },
  {
    version: 4,
    name: 'lease holder process',
    sql: `
      -- The process behind a lease (host = hostname, boot id and pid namespace; pid; its start time), so a
      -- holder on this host that has died loses its lease at once instead of at the end of its TTL. NULL:
      -- unknown (an older lease, a holder that is not a process of ours); such a lease lasts its TTL.
      ALTER TABLE coordinator_leases ADD COLUMN owner_host TEXT;
      ALTER TABLE coordinator_leases ADD COLUMN owner_pid INTEGER;
      ALTER TABLE coordinator_leases ADD COLUMN owner_start INTEGER;
    `,
    pg: `
      ALTER TABLE coordinator_leases ADD COLUMN owner_host text;
      ALTER TABLE coordinator_leases ADD COLUMN owner_pid bigint;
      ALTER TABLE coordinator_leases ADD COLUMN owner_start bigint;
    `,
  },
  {
    version: 5,
    name: 'experience counts kept at insert',
    sql: `
      -- Per-type figures of the buffer, kept in the insert's own transaction so reading them costs one row
      -- per type instead of a scan of every experience (a scan took 0.24 s at 440k rows, on the loop that
      -- answers health). model_type '' holds untyped rows. They are counted against one quality threshold,
      -- recorded in experience_counts_basis; a store opened with another threshold recounts once.
      CREATE TABLE experience_counts (
        model_type   TEXT PRIMARY KEY,
        total        INTEGER NOT NULL DEFAULT 0,
        usable       INTEGER NOT NULL DEFAULT 0,
        negative     INTEGER NOT NULL DEFAULT 0,
        low_quality  INTEGER NOT NULL DEFAULT 0,
        corrections  INTEGER NOT NULL DEFAULT 0,
        new_since    INTEGER NOT NULL DEFAULT 0
      );
      CREATE TABLE experience_counts_basis (
        id          INTEGER PRIMARY KEY CHECK (id = 1),
        min_quality REAL NOT NULL
      );
    `,
    pg: `
      CREATE TABLE experience_counts (
        model_type   text PRIMARY KEY,
        total        bigint NOT NULL DEFAULT 0,
        usable       bigint NOT NULL DEFAULT 0,
        negative     bigint NOT NULL DEFAULT 0,
        low_quality  bigint NOT NULL DEFAULT 0,
        corrections  bigint NOT NULL DEFAULT 0,
        new_since    bigint NOT NULL DEFAULT 0
      );
      CREATE TABLE experience_counts_basis (
        id          bigint PRIMARY KEY CHECK (id = 1),
        min_quality double precision NOT NULL
      );
    `,
  },
  {
    version: 6,
    name: 'training job claims',
    sql: `
      -- Which process runs a training job (a reactor's own runner or a \`trinity worker\`), until when, and
      -- under which fencing token. A runner claims the oldest queued job, or a training one whose lease ran
      -- out or whose process is provably gone, in one UPDATE; it renews lease_until every TTL/3. Every
      -- event a runner appends is checked against (worker_id, lease_token) in the same transaction, so a
      -- holder that lost its claim cannot write another event. owner_* name the process as in
      -- coordinator_leases. cancel_requested_at: the API asked for a cancel the runner has yet to honour.
      ALTER TABLE jobs ADD COLUMN worker_id TEXT;
      ALTER TABLE jobs ADD COLUMN lease_until REAL;
      ALTER TABLE jobs ADD COLUMN lease_token INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE jobs ADD COLUMN owner_host TEXT;
      ALTER TABLE jobs ADD COLUMN owner_pid INTEGER;
      ALTER TABLE jobs ADD COLUMN owner_start INTEGER;
      ALTER TABLE jobs ADD COLUMN cancel_requested_at REAL;
    `,
    pg: `
      ALTER TABLE jobs ADD COLUMN worker_id text;
      ALTER TABLE jobs ADD COLUMN lease_until double precision;
      ALTER TABLE jobs ADD COLUMN lease_token bigint NOT NULL DEFAULT 0;
      ALTER TABLE jobs ADD COLUMN owner_host text;
      ALTER TABLE jobs ADD COLUMN owner_pid bigint;
      ALTER TABLE jobs ADD COLUMN owner_start bigint;
      ALTER TABLE jobs ADD COLUMN cancel_requested_at double precision;
    `,
  },
  {
    version: 7,
    name: 'worker pools',
    sql: `
      -- The pool of workers a job may run on (a label of \`trinity worker --pool\`): JARVIS's placement sends
      -- large jobs to a cloud or gpu pool, everything else stays 'local', which a reactor's own runner serves.
      ALTER TABLE jobs ADD COLUMN worker_pool TEXT NOT NULL DEFAULT 'local';
      -- The runners alive now: each beats seen_at while it runs and deletes its row when it stops; one whose
      -- seen_at is older than its lease TTL is gone. host, pid and start name the process as in jobs.owner_*.
      CREATE TABLE training_workers (
        worker_id   TEXT PRIMARY KEY,
        pool        TEXT NOT NULL,
        host        TEXT NOT NULL,
        pid         INTEGER NOT NULL,
        started_at  REAL NOT NULL,
        seen_at     REAL NOT NULL,
        ttl_seconds REAL NOT NULL
      );
    `,
    pg: `
      ALTER TABLE jobs ADD COLUMN worker_pool text NOT NULL DEFAULT 'local';
      CREATE TABLE training_workers (
        worker_id   text PRIMARY KEY,
        pool        text NOT NULL,
        host        text NOT NULL,
        pid         bigint NOT NULL,
        started_at  double precision NOT NULL,
        seen_at     double precision NOT NULL,
        ttl_seconds double precision NOT NULL
      );
    `,
  },
];
