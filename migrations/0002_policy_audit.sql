-- Policy audit: one row per accepted policy change (PUT create/update, DELETE), newest first by (at_ms, id).
-- token_name is the configured token's name, never its secret.
CREATE TABLE IF NOT EXISTS policy_audit (
  id           TEXT PRIMARY KEY,
  at           TEXT    NOT NULL,
  at_ms        INTEGER NOT NULL,
  policy_id    TEXT    NOT NULL,
  action       TEXT    NOT NULL CHECK (action IN ('create', 'update', 'delete')),
  token_name   TEXT    NOT NULL,
  old_revision TEXT,
  new_revision TEXT,
  format       TEXT
);
CREATE INDEX IF NOT EXISTS policy_audit_by_time ON policy_audit (at_ms DESC, id DESC);
CREATE INDEX IF NOT EXISTS policy_audit_by_policy ON policy_audit (policy_id, at_ms DESC, id DESC);
