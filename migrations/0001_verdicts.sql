-- Verdict history: one row per decision, newest first by (evaluated_ms, id).
CREATE TABLE IF NOT EXISTS verdicts (
  id              TEXT PRIMARY KEY,
  evaluated_at    TEXT    NOT NULL,
  evaluated_ms    INTEGER NOT NULL,
  image           TEXT    NOT NULL,
  reference       TEXT    NOT NULL,
  repository      TEXT    NOT NULL,
  digest          TEXT,
  policy_id       TEXT    NOT NULL,
  policy_revision TEXT,
  decision        TEXT    NOT NULL CHECK (decision IN ('allow', 'deny')),
  mode            TEXT    NOT NULL,
  rule            TEXT,
  cached          INTEGER NOT NULL,
  reasons         TEXT    NOT NULL,
  context         TEXT,
  source          TEXT    NOT NULL
);
CREATE INDEX IF NOT EXISTS verdicts_by_time ON verdicts (evaluated_ms DESC, id DESC);
CREATE INDEX IF NOT EXISTS verdicts_by_policy ON verdicts (policy_id, evaluated_ms DESC, id DESC);
CREATE INDEX IF NOT EXISTS verdicts_by_repository ON verdicts (repository, evaluated_ms DESC, id DESC);
CREATE INDEX IF NOT EXISTS verdicts_by_decision ON verdicts (decision, evaluated_ms DESC, id DESC);
